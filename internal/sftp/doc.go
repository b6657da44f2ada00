// Package sftp moves partner files over SFTP in both directions, through the hub's one receipt
// path ([waybill.Intake]) and as a [waybill.Sender].
//
// Three pieces:
//
//   - [Mailbox] is a built-in SFTP server. Each partner logs in with a public key (or a password
//     when its profile allows one) and is jailed in its own folder holding in/ and out/. It may
//     write only directly into in/, read anywhere in its jail and delete what it fetched from out/;
//     it cannot see, reach or touch another partner's files, make directories or links. A file in
//     in/ is taken once it is complete: when the partner closes it (or renames a temporary name
//     such as "x.tmp" to its final name), or, for partners that upload in pieces, once its size
//     and modification time have not changed for StableFor. Taking means: store through the
//     Intake, then move to the archive outside the jail. The partner's close returns only after
//     the file is stored.
//   - [Poller] fetches files from a partner's own SFTP server: list, download, store, and only
//     after the store is durable delete the remote file or move it to a remote archive folder. The
//     server's host key is pinned.
//   - [Uploader] is a [waybill.Sender]: it writes a file under a temporary name and renames it to
//     its final name, on the partner's server ([Remote.OutDir]) or in the partner's out/ folder of
//     the Mailbox.
//
// # Exactly once
//
// A file is identified by its path, modification time and size ([TransportID]). If the hub stops
// after storing a file but before deleting or archiving it, the next pass stores it again, the
// Intake answers Duplicate, and the file is then deleted or archived: it is processed once.
//
// The SSH user name of a mailbox partner is its partner id.
package sftp
