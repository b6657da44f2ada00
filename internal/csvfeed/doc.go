// Package csvfeed reads and writes the CSV files of partners that do not speak EDI, mapping their
// columns to and from Waybill's canonical orders, shipments and invoices.
//
// A [Mapping] is data (YAML, see [LoadMapping]): which column holds which canonical field (by
// header name or by position), the delimiter, quoting, decimal comma and thousands separator,
// date formats and time zone, and what to do with bad rows. Files are one row per item line with
// the document's header fields repeated on every row; rows are grouped into documents by a key
// field (the PO number for orders), and a row whose repeated header fields disagree with the
// first row of its document is reported.
//
// Decoding never stops at the first problem: every bad cell is reported as a [RowError] with its
// row, column number and name, the value and what was expected. The mapping's policy then either
// rejects the whole file ([PolicyRejectFile], returning a [*FileError]) or keeps the documents
// whose rows are all good ([PolicyAcceptGood]).
//
// # Date formats
//
// A date format is either a Go layout (anything containing "2006") or a pattern of these tokens,
// everything else being literal: YYYY (year), YY (two-digit year), MM and M (month), DD and D
// (day), HH (hour 00-23), mm (minute), ss (second). For example "DD.MM.YYYY", "YYYYMMDD",
// "MM/DD/YYYY HH:mm". Dates are read in the mapping's time zone and returned in UTC; written
// dates are converted to that zone first.
package csvfeed
