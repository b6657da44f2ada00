// Package folder takes files from watched folders on the hub's own disk, one folder per partner,
// for on-premise integrations that drop files instead of speaking a network protocol.
//
// A [Watcher] scans by polling (no file system notifications): a file is taken once its size and
// modification time have stayed the same for the partner's stable window, handed to the hub's
// [waybill.Intake], and only then moved to the partner's archive folder. A file whose Receive
// fails stays where it is and is tried again on the next scan. Each scan takes at most
// MaxPerScan files per partner, so a partner that floods its folder cannot starve the others.
package folder
