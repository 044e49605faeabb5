// Package pcapng writes packet captures in the pcapng format
// (draft-ietf-opsawg-pcapng) that Wireshark, tshark and tcpdump read.
//
// It exists for the switch's capture feature (in the spirit of VPP's
// "pcap trace"): one Interface Description Block per captured port, and one
// Enhanced Packet Block per frame carrying the direction in epb_flags and,
// for dropped frames, the drop reason as a packet comment.
// github.com/google/gopacket/pcapgo.NgWriter cannot write per-packet
// options, hence this package.
//
// # File layout
//
// A file is a single section:
//
//	Section Header Block        version 1.0, section length -1 (unknown),
//	                            shb_userappl, optional shb_hardware / shb_os
//	Interface Description Block one per AddInterface call, in call order;
//	                            LINKTYPE_ETHERNET, snaplen, if_name,
//	                            if_tsresol = 9 (nanosecond timestamps)
//	Enhanced Packet Block       one per WritePacket call; epb_flags when the
//	                            direction is known, opt_comment when given
//
// Interface IDs are the indexes of the IDBs in the section, so an interface
// must be added before its first packet; interfaces may be added at any
// time. Every field is written little-endian whatever the host; readers
// detect the byte order from the Section Header Block's byte-order magic.
//
// # Buffering, limits and errors
//
// The Writer buffers its output: call Flush before the file is read or
// closed. Each block is assembled in a reused scratch buffer and handed to
// the buffered writer whole, so WritePacket does not allocate once the
// scratch buffer has grown to the largest block.
//
// Options.MaxBytes bounds the size of the file. A block that would cross
// the bound is not written at all and ErrFull is returned; from then on the
// Writer is full and every later write returns ErrFull, so a capture never
// has silent holes. The file written so far stays a valid capture.
//
// Invalid input (unknown interface, data longer than the snaplen, an
// original length below the captured length, a timestamp before 1970, an
// option longer than 65535 bytes or not UTF-8) is rejected with an error
// wrapping ErrUnknownInterface or ErrInvalid, and nothing is written. An
// error from the underlying io.Writer is sticky: the file may end with a
// partial block and the Writer returns that error from then on.
//
// A Writer is not safe for concurrent use; it is meant to be owned by one
// control-plane goroutine.
package pcapng
