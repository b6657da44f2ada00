// Package x12 reads, validates, writes and acknowledges ANSI ASC X12 interchanges.
//
// It knows nothing of any application that uses it and depends on the standard library only.
//
// # Layers
//
//   - [Reader] is a streaming tokenizer: it learns the delimiters from each ISA header and returns
//     one [Segment] per call to [Reader.Next]. A segment's bytes point into the reader's buffer and
//     are valid only until the next call to Next; copy what you keep ([Segment.Clone]).
//   - [Decoder] sits on a Reader and checks envelopes (ISA/IEA, GS/GE, ST/SE counts and control
//     numbers, duplicates). It yields [Event] values: an interchange, a group, each transaction
//     set (with its segments copied), the end of a group and the end of an interchange. Broken
//     transaction sets are reported and skipped; the valid ones around them are still delivered.
//   - [LoadSchema] returns the embedded definition of a transaction set; [Validate] checks a set
//     against it (segment order, usage, repeats, loops, element types, lengths, code lists,
//     syntax notes, HL hierarchy for 856) and an optional partner [Guide].
//   - [Writer] writes segments and envelopes with correct counts and control numbers.
//   - [Acknowledge] answers a whole inbound stream (TA1 when due, one 997 or 999 per group);
//     [NewGroupAck], [WriteAck997], [WriteAck999] and [WriteTA1] are its building blocks.
//   - [ReadAcks] and [ParseAck] read inbound 997/999/TA1 and tell what they acknowledge
//     (by GS06 and ST02).
//   - [ControlNumbers] hands out interchange, group and set control numbers; a persistent store
//     implements it, [MemoryControlNumbers] is the in-memory one.
//
// # Errors
//
// Every problem found in the data is an [*Error] carrying its byte offset, segment position,
// segment id, element, component and repetition positions, the X12 error code that an
// acknowledgement would carry (AK304/IK304, AK403/IK403, AK502/IK502, AK905, TA105) and a sentence
// written for people. Tolerated irregularities (a byte order mark, line breaks or indentation
// after terminators, hard-wrapped lines, an ISA that is not 106 bytes) are reported as
// [Warning] values instead.
//
// # Partner guides
//
// A guide narrows a base transaction set definition for one trading partner. It is a small text
// file; '#' starts a comment, tokens are separated by blanks, a double-quoted string is one token:
//
//	guide 004010 850 "ACME purchase orders"
//	unused CUR                # the segment must not be sent
//	require DTM               # the segment becomes mandatory where it first appears
//	max REF 2                 # the segment may occur at most twice (each time its loop occurs)
//	mandatory BEG 05          # the element becomes mandatory
//	unused-element PO1 05     # the element must not be sent
//	codes BEG 02 SA NE        # the element accepts only these codes
//
// A list of codes in the definitions decodes values; it rejects a value outside it (AK403 7)
// only when the element is marked closed or the catalog is strict ([Catalog.Strict]), because
// the shipped definitions list only the qualifiers that matter for open code lists. A guide's
// codes rule always rejects.
//
// [ParseGuide] reads one; [Guide.Apply] returns a copy of the base schema with the guide's rules,
// so one partner's guide never changes the schema another partner sees.
package x12
