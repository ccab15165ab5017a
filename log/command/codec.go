package command

import (
	"encoding/binary"
	"fmt"
)

// maxLen bounds any length prefix, so a corrupt length cannot make the decoder
// allocate gigabytes. Raft entries are far smaller than this.
const maxLen = 64 << 20

type encoder struct{ buf []byte }

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}
func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// strings encodes a list; nil and empty are the same on the wire and decode
// as nil.
func (e *encoder) strings(list []string) {
	e.uvarint(uint64(len(list)))
	for _, s := range list {
		e.string(s)
	}
}

// stringMap encodes a map in key order, so equal maps encode equally.
func (e *encoder) stringMap(m map[string]string) {
	keys := sortedKeys(m)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.string(k)
		e.string(m[k])
	}
}

// decoder reads sequentially and remembers the first error, so body decoders
// can read every field and check d.err once.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail(ErrTruncated)
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 { return decodeVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return decodeVarint(d, binary.Varint) }

// decodeVarint consumes one value read by binary.Uvarint or binary.Varint,
// which return n <= 0 when buf does not start with a whole value.
func decodeVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	v, n := read(d.buf)
	if n <= 0 {
		d.fail(ErrTruncated)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uvarint16() uint16 {
	v := d.uvarint()
	if v > 0xffff {
		d.fail(fmt.Errorf("%w: type number %d", ErrInvalidCommand, v))
		return 0
	}
	return uint16(v)
}

func (d *decoder) length() int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > maxLen || n > uint64(len(d.buf)) {
		d.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

// bytes returns a copy, so decoded commands never alias the Raft entry buffer.
// A zero length decodes as nil.
func (d *decoder) bytes() []byte {
	n := d.length()
	if d.err != nil || n == 0 {
		return nil
	}
	b := append([]byte(nil), d.buf[:n]...)
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(fmt.Errorf("%w: boolean out of range", ErrInvalidCommand))
	return false
}

// count reads a element count, refusing one that the remaining input cannot
// hold when each element takes at least minSize bytes.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)/minSize) {
		d.fail(ErrTruncated)
		return 0
	}
	return int(n)
}

func (d *decoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

func (d *decoder) stringMap() map[string]string {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		k := d.string()
		m[k] = d.string()
	}
	return m
}

func (d *decoder) string() string {
	n := d.length()
	if d.err != nil {
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}
