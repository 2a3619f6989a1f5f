/* orbit/text.h — the project's one set of text helpers: a UTF-8 walk, a
 * growable buffer, and JSON text written exactly as Python's json.dumps
 * (ensure_ascii=True, the default) writes it, so that what orbitd shows to
 * humans and sends to Python peers reads the same as what Python writes:
 *
 *   strings  "\"" "\\" "\n" "\r" "\t" "\b" "\f" as short escapes, every other
 *            code point below U+0020 and from U+007F on as \uXXXX with
 *            lower-case hex, code points beyond U+FFFF as a UTF-16 surrogate
 *            pair ("\ud83d\ude00");
 *   floats   repr(float): the shortest digits that read back as the same
 *            double, "1e-05" and "1e+16" exponent forms (below 1e-4, from
 *            1e16), ".0" on integral values, "NaN"/"Infinity"/"-Infinity"
 *            for the values JSON has no number for (json.dumps' allow_nan).
 *
 * Strings are UTF-8 with their length given (embedded NULs allowed, written
 * as "\u0000"); malformed UTF-8 (overlongs, surrogates, beyond U+10FFFF,
 * truncated sequences) is refused, never guessed at. Everything here is
 * reentrant and allocates only inside an orbit_buf.
 */
#ifndef ORBIT_TEXT_H
#define ORBIT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- UTF-8 ------------------------------------------------------------------ */

/* One code point at s[0..n): its value in *cp and its length in bytes, or 0
 * when s does not start with a well-formed sequence (or n is 0). */
size_t orbit_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* True when s[0..n) is well-formed UTF-8 (NUL bytes allowed). */
bool orbit_utf8_valid(const uint8_t *s, size_t n);

/* Number of code points in s[0..n), or SIZE_MAX when it is not UTF-8. */
size_t orbit_utf8_count(const char *s, size_t n);

/* The length of s[0..len) without a trailing sequence that a cut at len left
 * incomplete, so that a truncated text stays valid UTF-8 (for cutting log
 * lines and messages to a size). */
size_t orbit_utf8_trim(const char *s, size_t len);

/* --- growable buffer ---------------------------------------------------------- */

/* Bytes appended at the end; start from ORBIT_BUF_INIT (all zero). The
 * buffer owns data (malloc'd); hand it over with orbit_buf_finish or free it
 * with orbit_buf_release. A failed allocation is sticky: oom is set, later
 * appends do nothing and orbit_buf_finish reports -ENOMEM, so a writer may
 * check once at the end. len may be set back (to drop what was appended
 * since a mark) but never beyond cap. */
typedef struct orbit_buf {
	char *data;
	size_t len, cap;
	bool oom;
} orbit_buf;

#define ORBIT_BUF_INIT { NULL, 0, 0, false }

/* Append s[0..n) (s may be NULL when n is 0). Returns 0 or -ENOMEM. */
int orbit_buf_append(orbit_buf *b, const void *s, size_t n);

/* Append the C string s. Returns 0 or -ENOMEM. */
int orbit_buf_append_str(orbit_buf *b, const char *s);

/* Append one byte. Returns 0 or -ENOMEM. Inline: writers call it per byte. */
static inline int orbit_buf_append_char(orbit_buf *b, char c)
{
	if (b->len < b->cap && !b->oom) {
		b->data[b->len++] = c;
		return 0;
	}
	return orbit_buf_append(b, &c, 1);
}

/* NUL-terminate the text and hand it over: *out (caller frees) and, if len
 * is non-NULL, its length without the NUL. Returns 0, or -ENOMEM when an
 * append failed on the way (then the text is freed and *out is NULL). The
 * buffer is empty (ORBIT_BUF_INIT) afterwards either way. */
int orbit_buf_finish(orbit_buf *b, char **out, size_t *len);

/* Free what the buffer holds and reset it to ORBIT_BUF_INIT. NULL-safe. */
void orbit_buf_release(orbit_buf *b);

/* --- JSON text, as Python's json.dumps writes it ------------------------------- */

/* Longest orbit_double_repr text with its NUL ("-2.2250738585072014e-308"). */
#define ORBIT_DOUBLE_REPR_MAX 32

/* repr(v) as Python writes it ("0.1", "1e-05", "1e+16", "-0.0", "5e-324",
 * "NaN", "Infinity") into out, NUL-terminated. Returns its length. */
size_t orbit_double_repr(char out[ORBIT_DOUBLE_REPR_MAX], double v);

/* Append s[0..len) (UTF-8) as a JSON string, quotes included, escaped as
 * json.dumps does (see the top of this header). Returns 0, -EINVAL when s is
 * not UTF-8 (nothing appended) or -ENOMEM. s is borrowed. */
int orbit_json_append_string(orbit_buf *b, const char *s, size_t len);

/* Append v as json.dumps writes a float: orbit_double_repr's text, which for
 * NaN and the infinities is not strict JSON (as with Python's default
 * allow_nan=True; a writer that must stay strict checks isfinite first).
 * Returns 0 or -ENOMEM. */
int orbit_json_append_double(orbit_buf *b, double v);

#ifdef __cplusplus
}
#endif

#endif
