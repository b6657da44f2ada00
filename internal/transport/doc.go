// Package transport runs the hub's channels to and from trading partners, as their profiles
// configure them: the AS2 receiver and asynchronous-MDN endpoint, the authenticated HTTP intake
// (POST /intake/{partner}), the built-in SFTP mailbox, pollers of partners' own SFTP servers and
// watched folders. Every inbound channel hands what it receives to the hub's one receipt path
// (hub.Receive); every outbound channel is a waybill.Sender registered with the hub, so documents
// the flows emit go out through the durable deliver job. It also registers the "csv" decoder,
// which reads a partner's CSV files with its csvfeed mapping.
//
// The transport packages (internal/as2, internal/sftp, internal/folder, internal/csvfeed) know
// nothing of the hub; this package is where they meet it: the durable AS2 MDN store and raw
// archive are the hub's database, a missing or negative asynchronous MDN becomes a dead letter an
// operator can replay, and certificate expiries become a metric.
package transport
