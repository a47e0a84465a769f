package tarfmt

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// parseNumber reads a numeric header field: octal digits padded with
// spaces or NULs, or, when the first byte has its top bit set, a
// big-endian two's-complement base-256 number (GNU).
func parseNumber(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		// Base-256: the top bit of the first byte marks it, the next
		// one is the sign; the rest is two's complement.
		neg := b[0]&0x40 != 0
		var v int64
		if neg {
			v = -1
		}
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
				if neg {
					c |= 0x80
				}
			}
			if v>>55 != 0 && v>>55 != -1 {
				return 0, fmt.Errorf("%w: number out of range", ErrHeader)
			}
			v = v<<8 | int64(c)
		}
		return v, nil
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad number %q", ErrHeader, s)
	}
	return v, nil
}

// formatOctal writes v into b as zero-padded octal digits and a NUL; it
// reports false when v does not fit.
func formatOctal(b []byte, v int64) bool {
	s := strconv.FormatInt(v, 8)
	if v < 0 || len(s) > len(b)-1 {
		return false
	}
	copy(b, strings.Repeat("0", len(b)-1-len(s))+s+"\x00")
	return true
}

// fitsOctal reports whether v fits an octal field of n bytes.
func fitsOctal(v int64, n int) bool {
	return v >= 0 && v < int64(1)<<(3*(n-1))
}

// cstring reads a NUL-terminated string field.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// formatPAXTime writes t as PAX does: seconds since the epoch with an
// optional decimal fraction, trailing zeros dropped.
func formatPAXTime(t time.Time) string {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if nsec == 0 {
		return strconv.FormatInt(sec, 10)
	}
	sign := ""
	if sec < 0 {
		// -1.25 is sec -2 plus 0.75: write the magnitude.
		sign, sec, nsec = "-", -(sec + 1), 1e9-nsec
	}
	return strings.TrimRight(fmt.Sprintf("%s%d.%09d", sign, sec, nsec), "0")
}

// parsePAXTime reads a PAX time, "SECONDS[.FRACTION]", possibly negative.
func parsePAXTime(s string) (time.Time, error) {
	secStr, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(secStr, "-")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil || (hasFrac && strings.TrimLeft(frac, "0123456789") != "") || (hasFrac && frac == "") {
		return time.Time{}, fmt.Errorf("%w: bad PAX time %q", ErrHeader, s)
	}
	var nsec int64
	if hasFrac {
		digits := (frac + "000000000")[:9]
		nsec, _ = strconv.ParseInt(digits, 10, 64)
	}
	if neg && nsec != 0 {
		// -1.25: one second and a quarter before the epoch.
		sec, nsec = sec-1, 1e9-nsec
	}
	return time.Unix(sec, nsec), nil
}

// formatPAXRecords writes records in key order, each as "LEN KEY=VALUE\n"
// where LEN counts the whole record, itself included.
func formatPAXRecords(recs map[string]string) (string, error) {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return "", fmt.Errorf("tarfmt: invalid PAX record key %q", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		body := " " + k + "=" + recs[k] + "\n"
		n := len(body) + 1
		for n != len(strconv.Itoa(n))+len(body) {
			n = len(strconv.Itoa(n)) + len(body)
		}
		b.WriteString(strconv.Itoa(n) + body)
	}
	return b.String(), nil
}

// pax is what a PAX extended header says.
type pax struct {
	recs map[string]string
	// sparse0 are GNU sparse 0.0 offset, size pairs, which repeat keys
	// and so are kept in order.
	sparse0 []int64
}

// parsePAX reads the records of a PAX extended header.
func parsePAX(data string) (pax, error) {
	p := pax{recs: map[string]string{}}
	for data != "" {
		lenStr, _, ok := strings.Cut(data, " ")
		n, err := strconv.Atoi(lenStr)
		if !ok || err != nil || n < len(lenStr)+1 || n > len(data) {
			return p, fmt.Errorf("%w: bad PAX record", ErrHeader)
		}
		rec := data[len(lenStr)+1 : n]
		data = data[n:]
		if !strings.HasSuffix(rec, "\n") {
			return p, fmt.Errorf("%w: bad PAX record", ErrHeader)
		}
		k, v, ok := strings.Cut(rec[:len(rec)-1], "=")
		if !ok || k == "" {
			return p, fmt.Errorf("%w: bad PAX record", ErrHeader)
		}
		switch k {
		case "GNU.sparse.offset", "GNU.sparse.numbytes":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return p, fmt.Errorf("%w: bad %s %q", ErrHeader, k, v)
			}
			if (k == "GNU.sparse.offset") != (len(p.sparse0)%2 == 0) {
				return p, fmt.Errorf("%w: GNU sparse 0.0 records out of order", ErrHeader)
			}
			p.sparse0 = append(p.sparse0, x)
			continue
		}
		p.recs[k] = v
	}
	return p, nil
}
