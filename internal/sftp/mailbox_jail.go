package sftp

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	pkgsftp "github.com/pkg/sftp"
)

// jailFS serves one partner's SFTP session inside its folder. Every path is cleaned against "/"
// and resolved through an os.Root, so neither ".." nor a symbolic link can lead outside.
//
// Rules: read and list anywhere in the jail; create and write only files directly in in/; rename
// only within in/; remove only in out/ or a temporary file in in/; no directories, links or
// attribute changes (setstat is accepted and ignored, as clients send it after uploads).
type jailFS struct {
	m    *Mailbox
	p    Partner
	root *os.Root
}

func (m *Mailbox) jail(p Partner) (pkgsftp.Handlers, func(), error) {
	root, err := os.OpenRoot(m.partnerDir(p.ID))
	if err != nil {
		return pkgsftp.Handlers{}, nil, err
	}
	j := &jailFS{m: m, p: p, root: root}
	return pkgsftp.Handlers{FileGet: j, FilePut: j, FileCmd: j, FileList: j}, func() { root.Close() }, nil
}

// rel turns a client path into a path relative to the jail ("." for the jail itself).
func rel(p string) string {
	c := path.Clean("/" + p)
	if c == "/" {
		return "."
	}
	return strings.TrimPrefix(c, "/")
}

// inFile reports whether r names a file directly inside in/.
func inFile(r string) bool {
	dir, name := path.Split(r)
	return dir == "in/" && name != ""
}

func outFile(r string) bool {
	dir, name := path.Split(r)
	return dir == "out/" && name != ""
}

func (j *jailFS) Fileread(r *pkgsftp.Request) (io.ReaderAt, error) {
	f, err := j.root.Open(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, os.ErrPermission
	}
	return f, nil
}

func (j *jailFS) Filewrite(r *pkgsftp.Request) (io.WriterAt, error) {
	name := rel(r.Filepath)
	if !inFile(name) {
		return nil, os.ErrPermission
	}
	fl := r.Pflags()
	flags := os.O_WRONLY
	if fl.Read {
		flags = os.O_RDWR
	}
	if fl.Creat {
		flags |= os.O_CREATE
	}
	if fl.Trunc {
		flags |= os.O_TRUNC
	}
	if fl.Excl {
		flags |= os.O_EXCL
	}
	key := j.m.key(j.p.ID, name)
	j.m.mu.Lock()
	busy := j.m.busy[key]
	if !busy {
		j.m.writing[key]++
	}
	j.m.mu.Unlock()
	if busy {
		return nil, os.ErrPermission // being taken right now
	}
	f, err := j.root.OpenFile(name, flags, 0o640)
	if err != nil {
		j.m.doneWriting(key)
		return nil, err
	}
	return &upload{j: j, f: f, name: name, key: key}, nil
}

// upload is an open file in in/. Closing it hands the file to the hub, unless the transfer
// failed (then it is renamed to "<name>.partial" and never taken) or the name is temporary.
type upload struct {
	j      *jailFS
	f      *os.File
	name   string
	key    string
	mu     sync.Mutex
	failed error
	closed bool
}

// errTooLarge is returned to a partner whose file passes Mailbox.MaxFileSize.
var errTooLarge = errors.New("file too large for the mailbox")

func (u *upload) WriteAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) > u.j.m.MaxFileSize {
		u.TransferError(errTooLarge)
		return 0, errTooLarge
	}
	return u.f.WriteAt(b, off)
}

// TransferError is called by the request server when the session ends with the file still open.
func (u *upload) TransferError(err error) {
	u.mu.Lock()
	u.failed = err
	u.mu.Unlock()
}

func (u *upload) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	failed := u.failed
	u.mu.Unlock()
	err := u.f.Close()
	u.j.m.doneWriting(u.key)
	if failed != nil || err != nil {
		if !u.j.p.Pieces && !IsTempName(path.Base(u.name)) {
			_ = u.j.root.Rename(u.name, u.name+".partial")
		}
		u.j.m.logger().Warn("sftp mailbox upload incomplete; kept as partial, not taken",
			"partner", u.j.p.ID, "file", u.name, "err", errors.Join(failed, err))
		return err
	}
	if u.j.p.Pieces || IsTempName(path.Base(u.name)) {
		return nil
	}
	return u.j.m.take(u.j.p, u.name)
}

func (j *jailFS) Filecmd(r *pkgsftp.Request) error {
	src := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		if _, err := j.root.Stat(src); err != nil {
			return err
		}
		return nil
	case "Rename", "PosixRename":
		dst := rel(r.Target)
		if !inFile(src) || !inFile(dst) {
			return os.ErrPermission
		}
		if r.Method == "Rename" {
			if _, err := j.root.Lstat(dst); err == nil {
				return os.ErrExist
			}
		}
		if err := j.root.Rename(src, dst); err != nil {
			return err
		}
		if !j.p.Pieces && !IsTempName(path.Base(dst)) {
			if err := j.m.take(j.p, dst); err != nil {
				// The rename itself happened; the sweeper will take the file later.
				j.m.logger().Warn("sftp mailbox file renamed but not stored yet", "partner", j.p.ID, "file", dst, "err", err)
			}
		}
		return nil
	case "Remove":
		if !outFile(src) && !(inFile(src) && IsTempName(path.Base(src))) {
			return os.ErrPermission
		}
		st, err := j.root.Lstat(src)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return os.ErrPermission
		}
		return j.root.Remove(src)
	}
	// Mkdir, Rmdir, Link, Symlink and anything new.
	return os.ErrPermission
}

func (j *jailFS) Filelist(r *pkgsftp.Request) (pkgsftp.ListerAt, error) {
	name := rel(r.Filepath)
	switch r.Method {
	case "List":
		d, err := j.root.Open(name)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err := d.ReadDir(-1)
		if err != nil {
			return nil, err
		}
		infos := make([]os.FileInfo, 0, len(entries))
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink != 0 {
				continue
			}
			if info, err := e.Info(); err == nil {
				infos = append(infos, info)
			}
		}
		return listerAt(infos), nil
	case "Stat":
		st, err := j.root.Stat(name)
		if err != nil {
			return nil, err
		}
		return listerAt{st}, nil
	case "Readlink":
		return nil, os.ErrPermission
	}
	return nil, pkgsftp.ErrSSHFxOpUnsupported
}

// Lstat implements pkgsftp.LstatFileLister.
func (j *jailFS) Lstat(r *pkgsftp.Request) (pkgsftp.ListerAt, error) {
	st, err := j.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{st}, nil
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}
