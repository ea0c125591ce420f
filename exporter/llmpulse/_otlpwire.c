/* OTLP trace export requests read straight from the protobuf wire format.
 *
 * The C twin of llmpulse.otlp._decode_traces_pb: the same RawSpan objects, the
 * same accept/reject decisions as upb (the protobuf runtime) on every input, but
 * without building a Python object for every KeyValue and AnyValue of the
 * request: span attributes the normaliser never reads are validated on the wire
 * and dropped, and the names it does read come from a table of ready str objects.
 *
 * What upb checks, this checks too (tests/test_otlpwire.py compares the two on
 * generated and mutated requests): wire types, varints of at most 10 bytes, tags
 * of at most 5 bytes below 2^32 with a non-zero field number, lengths of at most 5
 * bytes that fit the buffer, groups matched and nested, UTF-8 in every string
 * field (read or not), and a nesting depth of at most 100 messages or groups.
 * Repeated singular fields follow protobuf's rules: the last scalar wins and
 * messages merge.  The schema of fields not read (which are strings, which are
 * messages) comes from the installed descriptors through `configure`.
 *
 *     configure(table, DecodeError, TooManyItems, RawSpan, RawEvent)
 *     Keys(names, prefixes).decode(body, max_items) -> list[RawSpan]
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------- the schema */

enum { K_NONE = 0, K_VARINT, K_FIXED64, K_FIXED32, K_STRING, K_BYTES, K_MESSAGE };
static const int WIRE_OF[] = {-1, 0, 1, 5, 2, 2, 2};

#define MAX_FIELD 32
#define MAX_MSGS 32
#define MAX_DEPTH 100

typedef struct { uint8_t kind, sub; } Field;
typedef struct { Field f[MAX_FIELD]; } Msg;

/* Message indices: `configure` receives the table in this order. */
enum { M_REQUEST, M_RESOURCE_SPANS, M_RESOURCE, M_SCOPE_SPANS, M_SCOPE, M_SPAN, M_EVENT, M_STATUS,
       M_KEYVALUE, M_ANYVALUE, M_ARRAY, M_KVLIST, M_FIXED_COUNT };

static Msg msgs[MAX_MSGS];
static PyObject *DecodeError = NULL, *TooManyItems = NULL, *RawSpanType = NULL, *RawEventType = NULL;

/* ------------------------------------------------------------- the reader */

typedef struct {
    const uint8_t *base;
    const char *err;           /* what went wrong (static text), NULL when fine */
    Py_ssize_t err_at;
    int py_err;                /* a Python exception is set (memory) */
    Py_ssize_t items, max_items;    /* max_items < 0: unlimited */
    int building;              /* 0 once items exceeded max_items: validate only */
} Ctx;

static int fail(Ctx *c, const uint8_t *at, const char *msg) {
    if (!c->err && !c->py_err) {
        c->err = msg;
        c->err_at = at - c->base;
    }
    return -1;
}

static int py_fail(Ctx *c) {
    c->py_err = 1;
    return -1;
}

static inline int read_varint(Ctx *c, const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end)
            return fail(c, p, "truncated varint");
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);       /* bits past 64 are dropped, as upb does */
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return fail(c, p, "varint longer than 10 bytes");
}

/* tags and lengths: at most 5 bytes */
static inline int read_small(Ctx *c, const uint8_t **pp, const uint8_t *end, uint64_t *out, const char *what) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) {
        if (p >= end)
            return fail(c, p, what);
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return fail(c, p, what);
}

/* in_group: field number 0 is let through inside unknown groups, as upb does */
static inline int read_tag_in(Ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t *field, uint32_t *wire,
                              int in_group) {
    uint64_t t;
    const uint8_t *at = *pp;
    if (read_small(c, pp, end, &t, "malformed field tag") < 0)
        return -1;
    if (t > 0xffffffffu || ((t >> 3) == 0 && !in_group))
        return fail(c, at, "malformed field tag");
    *field = (uint32_t)(t >> 3);
    *wire = (uint32_t)(t & 7);
    return 0;
}

static inline int read_tag(Ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t *field, uint32_t *wire) {
    return read_tag_in(c, pp, end, field, wire, 0);
}

/* A length-delimited payload: [*start, *stop). */
static inline int read_ld(Ctx *c, const uint8_t **pp, const uint8_t *end, const uint8_t **start, const uint8_t **stop) {
    uint64_t n;
    if (read_small(c, pp, end, &n, "malformed length") < 0)
        return -1;
    if (n > (uint64_t)(end - *pp))
        return fail(c, *pp, "length runs past the end of its message");
    *start = *pp;
    *stop = *pp + n;
    *pp = *stop;
    return 0;
}

/* Whether wire type w is the one a field of this kind is read with (else the field is unknown). */
static inline int wire_ok(int kind, uint32_t w) {
    return kind != K_NONE && (int)w == WIRE_OF[kind];
}

static int utf8_ok(const uint8_t *s, const uint8_t *end) {
    while (s < end) {
        if (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (!(w & 0x8080808080808080ull)) {
                s += 8;
                continue;
            }
        }
        uint8_t b = *s;
        if (b < 0x80) {
            s++;
        } else if (b >= 0xc2 && b <= 0xdf) {
            if (end - s < 2 || (s[1] & 0xc0) != 0x80) return 0;
            s += 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            if (end - s < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
            if (b == 0xe0 && s[1] < 0xa0) return 0;          /* overlong */
            if (b == 0xed && s[1] > 0x9f) return 0;          /* surrogates */
            s += 3;
        } else if (b >= 0xf0 && b <= 0xf4) {
            if (end - s < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
            if (b == 0xf0 && s[1] < 0x90) return 0;          /* overlong */
            if (b == 0xf4 && s[1] > 0x8f) return 0;          /* past U+10FFFF */
            s += 4;
        } else {
            return 0;
        }
    }
    return 1;
}


static int skip_group(Ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t field, int depth);

/* Skip a field not in the schema (or with an unexpected wire type), as upb keeps it as unknown. */
static int skip_unknown(Ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t field, uint32_t wire, int depth) {
    uint64_t v;
    const uint8_t *a, *b;
    switch (wire) {
    case 0:
        return read_varint(c, pp, end, &v);
    case 1:
        if (end - *pp < 8) return fail(c, *pp, "truncated 64-bit field");
        *pp += 8;
        return 0;
    case 2:
        return read_ld(c, pp, end, &a, &b);
    case 3:
        return skip_group(c, pp, end, field, depth + 1);
    case 5:
        if (end - *pp < 4) return fail(c, *pp, "truncated 32-bit field");
        *pp += 4;
        return 0;
    default:
        return fail(c, *pp, wire == 4 ? "unmatched end of group" : "invalid wire type");
    }
}

/* Skip a group's fields up to its end tag. depth: the group's own. */
static int skip_group(Ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t field, int depth) {
    if (depth > MAX_DEPTH)
        return fail(c, *pp, "nested more than 100 levels deep");
    while (*pp < end) {
        uint32_t f, w;
        const uint8_t *at = *pp;
        if (read_tag_in(c, pp, end, &f, &w, 1) < 0) return -1;
        if (w == 4) {
            if (f != field) return fail(c, at, "unmatched end of group");
            return 0;
        }
        if (skip_unknown(c, pp, end, f, w, depth) < 0) return -1;
    }
    return fail(c, *pp, "group not closed");
}

/* Check a whole message against the schema without building anything. */
static int validate(Ctx *c, const uint8_t *p, const uint8_t *end, int msg, int depth) {
    if (depth > MAX_DEPTH)
        return fail(c, p, "nested more than 100 levels deep");
    const Msg *m = &msgs[msg];
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        Field fd = f < MAX_FIELD ? m->f[f] : (Field){0, 0};
        if (!wire_ok(fd.kind, w)) {
            if (skip_unknown(c, &p, end, f, w, depth) < 0) return -1;
            continue;
        }
        const uint8_t *a, *b;
        uint64_t v;
        switch (fd.kind) {
        case K_VARINT:
            if (read_varint(c, &p, end, &v) < 0) return -1;
            break;
        case K_FIXED64:
        case K_FIXED32:
            if (skip_unknown(c, &p, end, f, w, depth) < 0) return -1;
            break;
        case K_STRING:
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (!utf8_ok(a, b)) return fail(c, a, "string field is not valid UTF-8");
            break;
        case K_BYTES:
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            break;
        case K_MESSAGE:
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (validate(c, a, b, fd.sub, depth + 1) < 0) return -1;
            break;
        }
    }
    return 0;
}

/* Validate one field of message `msg` whose tag was just read (a field the caller does not build). */
static int validate_field(Ctx *c, const uint8_t **pp, const uint8_t *end, int msg, uint32_t f, uint32_t w, int depth) {
    Field fd = f < MAX_FIELD ? msgs[msg].f[f] : (Field){0, 0};
    if (!wire_ok(fd.kind, w))
        return skip_unknown(c, pp, end, f, w, depth);
    const uint8_t *a, *b;
    uint64_t v;
    switch (fd.kind) {
    case K_VARINT:
        return read_varint(c, pp, end, &v);
    case K_STRING:
        if (read_ld(c, pp, end, &a, &b) < 0) return -1;
        return utf8_ok(a, b) ? 0 : fail(c, a, "string field is not valid UTF-8");
    case K_BYTES:
        return read_ld(c, pp, end, &a, &b);
    case K_MESSAGE:
        if (read_ld(c, pp, end, &a, &b) < 0) return -1;
        return validate(c, a, b, fd.sub, depth + 1);
    default:
        return skip_unknown(c, pp, end, f, w, depth);
    }
}

/* True when field f of msg arrives with the wire type the schema gives it (else it is unknown). */
static inline int is_field(int msg, uint32_t f, uint32_t w, int kind) {
    return f < MAX_FIELD && msgs[msg].f[f].kind == kind && wire_ok(kind, w);
}

/* ------------------------------------------------------------- values */

static PyObject *str_of(Ctx *c, const uint8_t *a, const uint8_t *b) {
    PyObject *s = PyUnicode_DecodeUTF8((const char *)a, b - a, "strict");
    if (s == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyErr_Clear();
            fail(c, a, "string field is not valid UTF-8");
        } else {
            py_fail(c);
        }
    }
    return s;
}

static PyObject *hex_of(Ctx *c, const uint8_t *a, const uint8_t *b) {
    static const char digits[] = "0123456789abcdef";
    Py_ssize_t n = b - a;
    PyObject *s = PyUnicode_New(2 * n, 127);
    if (s == NULL) {
        py_fail(c);
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        out[2 * i] = digits[a[i] >> 4];
        out[2 * i + 1] = digits[a[i] & 15];
    }
    return s;
}

static inline uint64_t le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static int read_fixed64(Ctx *c, const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    if (end - *pp < 8) return fail(c, *pp, "truncated 64-bit field");
    *out = le64(*pp);
    *pp += 8;
    return 0;
}

/* An AnyValue being merged from one or more wire occurrences: `obj` is its value, NULL when unset. */
typedef struct { int kind; PyObject *obj; } Val;

static void val_set(Val *v, int kind, PyObject *obj) {
    Py_XSETREF(v->obj, obj);
    v->kind = kind;
}

static int any_into(Ctx *c, Val *v, const uint8_t *p, const uint8_t *end, int depth);
static int kv_into_dict(Ctx *c, PyObject *dict, const uint8_t *p, const uint8_t *end, int depth, int keep_unset);

static int array_item(Ctx *c, PyObject *list, const uint8_t *a, const uint8_t *b, int depth) {
    Val item = {0, NULL};
    if (any_into(c, &item, a, b, depth) < 0) {
        Py_XDECREF(item.obj);
        return -1;
    }
    PyObject *o = item.obj ? item.obj : Py_NewRef(Py_None);
    int r = PyList_Append(list, o);
    Py_DECREF(o);
    return r < 0 ? py_fail(c) : 0;
}

/* The `values` (field 1) of an ArrayValue into a list, or of a KeyValueList into a dict (unset: None). */
static int values_into(Ctx *c, PyObject *out, int msg, const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        if (!is_field(msg, f, w, K_MESSAGE) || f != 1) {
            if (validate_field(c, &p, end, msg, f, w, depth) < 0) return -1;
            continue;
        }
        const uint8_t *a, *b;
        if (read_ld(c, &p, end, &a, &b) < 0) return -1;
        if ((msg == M_ARRAY ? array_item(c, out, a, b, depth + 1) : kv_into_dict(c, out, a, b, depth + 1, 1)) < 0)
            return -1;
    }
    return 0;
}

/* Merge one AnyValue occurrence into v (oneof: the last member set wins; messages merge). */
static int any_into(Ctx *c, Val *v, const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        Field fd = f < MAX_FIELD ? msgs[M_ANYVALUE].f[f] : (Field){0, 0};
        if (!wire_ok(fd.kind, w) || f > 8) {
            if (skip_unknown(c, &p, end, f, w, depth) < 0) return -1;
            continue;
        }
        const uint8_t *a, *b;
        uint64_t u;
        PyObject *o;
        switch (f) {
        case 1:     /* string_value */
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if ((o = str_of(c, a, b)) == NULL) return -1;
            val_set(v, 1, o);
            break;
        case 2:     /* bool_value */
            if (read_varint(c, &p, end, &u) < 0) return -1;
            val_set(v, 2, PyBool_FromLong(u != 0));
            break;
        case 3:     /* int_value */
            if (read_varint(c, &p, end, &u) < 0) return -1;
            if ((o = PyLong_FromLongLong((long long)(int64_t)u)) == NULL) return py_fail(c);
            val_set(v, 3, o);
            break;
        case 4:     /* double_value */
            if (read_fixed64(c, &p, end, &u) < 0) return -1;
            {
                double d;
                memcpy(&d, &u, 8);
                if ((o = PyFloat_FromDouble(d)) == NULL) return py_fail(c);
            }
            val_set(v, 4, o);
            break;
        case 5:     /* array_value */
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (v->kind != 5) {
                if ((o = PyList_New(0)) == NULL) return py_fail(c);
                val_set(v, 5, o);
            }
            if (values_into(c, v->obj, M_ARRAY, a, b, depth + 1) < 0) return -1;
            break;
        case 6:     /* kvlist_value */
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (v->kind != 6) {
                if ((o = PyDict_New()) == NULL) return py_fail(c);
                val_set(v, 6, o);
            }
            if (values_into(c, v->obj, M_KVLIST, a, b, depth + 1) < 0) return -1;
            break;
        case 7:     /* bytes_value */
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if ((o = PyBytes_FromStringAndSize((const char *)a, b - a)) == NULL) return py_fail(c);
            val_set(v, 7, o);
            break;
        case 8:     /* string_value_strindex (int32) */
            if (read_varint(c, &p, end, &u) < 0) return -1;
            if ((o = PyLong_FromLong((long)(int32_t)u)) == NULL) return py_fail(c);
            val_set(v, 8, o);
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------- key/values */

/* The span attribute names worth building, hashed by their UTF-8 bytes. */
typedef struct {
    PyObject_HEAD
    Py_ssize_t mask;            /* slots - 1 */
    PyObject **keys;            /* str or NULL */
    const char **utf8;
    Py_ssize_t *len;
    uint64_t *hash;
    PyObject *prefixes;         /* tuple of str */
    int all;                    /* every name is wanted (names was None) */
} KeysObject;

static inline uint64_t fnv(const uint8_t *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ull;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The str for a wanted name (a new reference), NULL with no error when not wanted. */
static PyObject *wanted(Ctx *c, KeysObject *k, const uint8_t *a, const uint8_t *b) {
    Py_ssize_t n = b - a;
    uint64_t h = fnv(a, n);
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)k->mask);; i = (i + 1) & k->mask) {
        if (k->keys[i] == NULL) break;
        if (k->hash[i] == h && k->len[i] == n && memcmp(k->utf8[i], a, n) == 0)
            return Py_NewRef(k->keys[i]);
    }
    Py_ssize_t np = PyTuple_GET_SIZE(k->prefixes);
    for (Py_ssize_t i = 0; i < np; i++) {
        Py_ssize_t plen;
        const char *pre = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(k->prefixes, i), &plen);
        if (pre && plen <= n && memcmp(pre, a, plen) == 0)
            return str_of(c, a, b);
    }
    return NULL;
}

/* Read a KeyValue's key: the last `key` field, after checking every other field but `value`. */
static int kv_key(Ctx *c, const uint8_t *p, const uint8_t *end, int depth, const uint8_t **ka, const uint8_t **kb) {
    static const uint8_t empty[1] = {0};
    *ka = *kb = empty;
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        if (f == 1 && is_field(M_KEYVALUE, f, w, K_STRING)) {
            if (read_ld(c, &p, end, ka, kb) < 0) return -1;
            if (!utf8_ok(*ka, *kb)) return fail(c, *ka, "string field is not valid UTF-8");
        } else if (f == 2 && is_field(M_KEYVALUE, f, w, K_MESSAGE)) {
            const uint8_t *a, *b;
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;   /* read by kv_value */
        } else if (validate_field(c, &p, end, M_KEYVALUE, f, w, depth) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Merge every `value` occurrence of a KeyValue (or only validate them when v is NULL). */
static int kv_value(Ctx *c, Val *v, const uint8_t *p, const uint8_t *end, int depth) {
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        if (f == 2 && is_field(M_KEYVALUE, f, w, K_MESSAGE)) {
            const uint8_t *a, *b;
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (v ? any_into(c, v, a, b, depth + 1) : validate(c, a, b, M_ANYVALUE, depth + 1)) return -1;
        } else if (skip_unknown(c, &p, end, f, w, depth) < 0) {   /* checked by kv_key */
            return -1;
        }
    }
    return 0;
}

/* One KeyValue into dict. keys: only wanted names (NULL: all). keep_unset: an unset value becomes None
 * (kvlist values), else the pair is dropped (attributes). */
static int kv_filtered(Ctx *c, PyObject *dict, KeysObject *keys, const uint8_t *p, const uint8_t *end, int depth,
                       int keep_unset) {
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    const uint8_t *ka, *kb;
    if (kv_key(c, p, end, depth, &ka, &kb) < 0) return -1;
    PyObject *key;
    if (keys != NULL) {
        key = wanted(c, keys, ka, kb);
        if (key == NULL) {
            if (c->err || c->py_err) return -1;
            return kv_value(c, NULL, p, end, depth);
        }
    } else if ((key = str_of(c, ka, kb)) == NULL) {
        return -1;
    }
    Val v = {0, NULL};
    if (kv_value(c, &v, p, end, depth) < 0) {
        Py_DECREF(key);
        Py_XDECREF(v.obj);
        return -1;
    }
    int r = 0;
    if (v.obj != NULL || keep_unset)
        r = PyDict_SetItem(dict, key, v.obj ? v.obj : Py_None);
    Py_DECREF(key);
    Py_XDECREF(v.obj);
    return r < 0 ? py_fail(c) : 0;
}

static int kv_into_dict(Ctx *c, PyObject *dict, const uint8_t *p, const uint8_t *end, int depth, int keep_unset) {
    return kv_filtered(c, dict, NULL, p, end, depth, keep_unset);
}

/* ------------------------------------------------------------- messages */

/* Attributes (field `field` of msg) of a Resource, Scope or Event message, all kept. */
static int attrs_of(Ctx *c, PyObject *dict, int msg, uint32_t field, const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    while (p < end) {
        uint32_t f, w;
        if (read_tag(c, &p, end, &f, &w) < 0) return -1;
        if (f == field && is_field(msg, f, w, K_MESSAGE)) {
            const uint8_t *a, *b;
            if (read_ld(c, &p, end, &a, &b) < 0) return -1;
            if (kv_into_dict(c, dict, a, b, depth + 1, 0) < 0) return -1;
        } else if (validate_field(c, &p, end, msg, f, w, depth) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *event_of(Ctx *c, const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > MAX_DEPTH) {
        fail(c, p, "nested more than 100 levels deep");
        return NULL;
    }
    uint64_t time_ns = 0;
    const uint8_t *na = NULL, *nb = NULL;
    PyObject *attrs = PyDict_New(), *name = NULL, *t = NULL, *ev = NULL;
    if (attrs == NULL) {
        py_fail(c);
        return NULL;
    }
    const uint8_t *q = p;
    while (q < end) {
        uint32_t f, w;
        if (read_tag(c, &q, end, &f, &w) < 0) goto done;
        if (f == 1 && is_field(M_EVENT, f, w, K_FIXED64)) {
            if (read_fixed64(c, &q, end, &time_ns) < 0) goto done;
        } else if (f == 2 && is_field(M_EVENT, f, w, K_STRING)) {
            if (read_ld(c, &q, end, &na, &nb) < 0) goto done;
        } else if (f == 3 && is_field(M_EVENT, f, w, K_MESSAGE)) {
            const uint8_t *a, *b;
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;
            if (kv_into_dict(c, attrs, a, b, depth + 1, 0) < 0) goto done;
        } else if (validate_field(c, &q, end, M_EVENT, f, w, depth) < 0) {
            goto done;
        }
    }
    name = na ? str_of(c, na, nb) : PyUnicode_New(0, 0);
    if (name == NULL) goto done;
    if ((t = PyLong_FromUnsignedLongLong(time_ns)) == NULL) {
        py_fail(c);
        goto done;
    }
    PyObject *args[] = {name, t, attrs};
    ev = PyObject_Vectorcall(RawEventType, args, 3, NULL);
    if (ev == NULL) py_fail(c);
done:
    Py_XDECREF(name);
    Py_XDECREF(t);
    Py_DECREF(attrs);
    return ev;
}

typedef struct {
    Ctx *c;
    KeysObject *keys;
    PyObject *out;          /* list of RawSpan */
    PyObject *resource;     /* dict */
    PyObject *scope;        /* str */
} Walk;

static int span_of(Walk *wk, const uint8_t *p, const uint8_t *end, int depth) {
    Ctx *c = wk->c;
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    if (!c->building) return validate(c, p, end, M_SPAN, depth);
    static const uint8_t empty[1] = {0};
    const uint8_t *tid[2] = {empty, empty}, *sid[2] = {empty, empty}, *pid[2] = {empty, empty};
    const uint8_t *nm[2] = {empty, empty}, *msg[2] = {empty, empty};
    uint64_t kind = 0, start = 0, stop = 0, code = 0;
    int rc = -1;
    PyObject *attrs = PyDict_New(), *events = PyList_New(0);
    PyObject *o[10] = {NULL};
    if (attrs == NULL || events == NULL) {
        py_fail(c);
        goto done;
    }
    const uint8_t *q = p;
    while (q < end) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if (read_tag(c, &q, end, &f, &w) < 0) goto done;
        Field fd = f < MAX_FIELD ? msgs[M_SPAN].f[f] : (Field){0, 0};
        if (!wire_ok(fd.kind, w)) {
            if (skip_unknown(c, &q, end, f, w, depth) < 0) goto done;
            continue;
        }
        switch (f) {
        case 1: if (read_ld(c, &q, end, &tid[0], &tid[1]) < 0) goto done; break;
        case 2: if (read_ld(c, &q, end, &sid[0], &sid[1]) < 0) goto done; break;
        case 4: if (read_ld(c, &q, end, &pid[0], &pid[1]) < 0) goto done; break;
        case 5:
            if (read_ld(c, &q, end, &nm[0], &nm[1]) < 0) goto done;
            if (!utf8_ok(nm[0], nm[1])) { fail(c, nm[0], "string field is not valid UTF-8"); goto done; }
            break;
        case 6: if (read_varint(c, &q, end, &kind) < 0) goto done; break;
        case 7: if (read_fixed64(c, &q, end, &start) < 0) goto done; break;
        case 8: if (read_fixed64(c, &q, end, &stop) < 0) goto done; break;
        case 9:
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;
            if (kv_filtered(c, attrs, wk->keys, a, b, depth + 1, 0) < 0) goto done;
            break;
        case 11: {
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;
            PyObject *ev = event_of(c, a, b, depth + 1);
            if (ev == NULL) goto done;
            int r = PyList_Append(events, ev);
            Py_DECREF(ev);
            if (r < 0) { py_fail(c); goto done; }
            break;
        }
        case 15: {      /* Status: merged across occurrences */
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;
            if (depth + 1 > MAX_DEPTH) { fail(c, a, "nested more than 100 levels deep"); goto done; }
            while (a < b) {
                uint32_t sf, sw;
                if (read_tag(c, &a, b, &sf, &sw) < 0) goto done;
                if (sf == 2 && is_field(M_STATUS, sf, sw, K_STRING)) {
                    if (read_ld(c, &a, b, &msg[0], &msg[1]) < 0) goto done;
                    if (!utf8_ok(msg[0], msg[1])) { fail(c, msg[0], "string field is not valid UTF-8"); goto done; }
                } else if (sf == 3 && is_field(M_STATUS, sf, sw, K_VARINT)) {
                    if (read_varint(c, &a, b, &code) < 0) goto done;
                } else if (validate_field(c, &a, b, M_STATUS, sf, sw, depth + 1) < 0) {
                    goto done;
                }
            }
            break;
        }
        default:
            if (validate_field(c, &q, end, M_SPAN, f, w, depth) < 0) goto done;
        }
    }
    if (!(o[0] = hex_of(c, tid[0], tid[1])) || !(o[1] = hex_of(c, sid[0], sid[1]))
            || !(o[2] = hex_of(c, pid[0], pid[1])) || !(o[3] = str_of(c, nm[0], nm[1])))
        goto done;
    if (!(o[4] = PyLong_FromLong((long)(int32_t)kind)) || !(o[5] = PyLong_FromUnsignedLongLong(start))
            || !(o[6] = PyLong_FromUnsignedLongLong(stop)) || !(o[7] = PyLong_FromLong((long)(int32_t)code))) {
        py_fail(c);
        goto done;
    }
    if (!(o[8] = str_of(c, msg[0], msg[1]))) goto done;
    {
        PyObject *args[] = {o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], attrs, events, wk->resource,
                            wk->scope};
        PyObject *sp = PyObject_Vectorcall(RawSpanType, args, 13, NULL);
        if (sp == NULL) { py_fail(c); goto done; }
        int r = PyList_Append(wk->out, sp);
        Py_DECREF(sp);
        if (r < 0) { py_fail(c); goto done; }
    }
    rc = 0;
done:
    for (int i = 0; i < 10; i++) Py_XDECREF(o[i]);
    Py_XDECREF(attrs);
    Py_XDECREF(events);
    return rc;
}

static inline void count_item(Ctx *c) {
    c->items++;
    if (c->max_items >= 0 && c->items > c->max_items) c->building = 0;
}

static int scope_spans_of(Walk *wk, const uint8_t *p, const uint8_t *end, int depth) {
    Ctx *c = wk->c;
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    count_item(c);
    /* pass 1: the scope (its name, last wins across merged occurrences), and every field but spans checked */
    static const uint8_t empty[1] = {0};
    const uint8_t *na = empty, *nb = empty;
    const uint8_t *q = p;
    while (q < end) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if (read_tag(c, &q, end, &f, &w) < 0) return -1;
        if (f == 1 && is_field(M_SCOPE_SPANS, f, w, K_MESSAGE)) {
            if (read_ld(c, &q, end, &a, &b) < 0) return -1;
            if (depth + 1 > MAX_DEPTH) return fail(c, a, "nested more than 100 levels deep");
            while (a < b) {
                uint32_t sf, sw;
                if (read_tag(c, &a, b, &sf, &sw) < 0) return -1;
                if (sf == 1 && is_field(M_SCOPE, sf, sw, K_STRING)) {
                    if (read_ld(c, &a, b, &na, &nb) < 0) return -1;
                    if (!utf8_ok(na, nb)) return fail(c, na, "string field is not valid UTF-8");
                } else if (validate_field(c, &a, b, M_SCOPE, sf, sw, depth + 1) < 0) {
                    return -1;
                }
            }
        } else if (f == 2 && is_field(M_SCOPE_SPANS, f, w, K_MESSAGE)) {
            if (read_ld(c, &q, end, &a, &b) < 0) return -1;        /* pass 2 */
        } else if (validate_field(c, &q, end, M_SCOPE_SPANS, f, w, depth) < 0) {
            return -1;
        }
    }
    PyObject *scope = str_of(c, na, nb);
    if (scope == NULL) return -1;
    PyObject *saved = wk->scope;
    wk->scope = scope;
    int rc = 0;
    q = p;
    while (q < end && rc == 0) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if ((rc = read_tag(c, &q, end, &f, &w)) < 0) break;        /* checked in pass 1: cannot fail */
        if (f == 2 && is_field(M_SCOPE_SPANS, f, w, K_MESSAGE)) {
            if ((rc = read_ld(c, &q, end, &a, &b)) < 0) break;
            count_item(c);
            rc = span_of(wk, a, b, depth + 1);
        } else {
            rc = skip_unknown(c, &q, end, f, w, depth);
        }
    }
    wk->scope = saved;
    Py_DECREF(scope);
    return rc;
}

static int resource_spans_of(Walk *wk, const uint8_t *p, const uint8_t *end, int depth) {
    Ctx *c = wk->c;
    if (depth > MAX_DEPTH) return fail(c, p, "nested more than 100 levels deep");
    count_item(c);
    PyObject *resource = PyDict_New();
    if (resource == NULL) return py_fail(c);
    int rc = -1;
    const uint8_t *q = p;
    /* pass 1: the resource's attributes (merged across occurrences), every field but scope_spans checked */
    while (q < end) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if (read_tag(c, &q, end, &f, &w) < 0) goto done;
        if (f == 1 && is_field(M_RESOURCE_SPANS, f, w, K_MESSAGE)) {
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;
            if (attrs_of(c, resource, M_RESOURCE, 1, a, b, depth + 1) < 0) goto done;
        } else if (f == 2 && is_field(M_RESOURCE_SPANS, f, w, K_MESSAGE)) {
            if (read_ld(c, &q, end, &a, &b) < 0) goto done;         /* pass 2 */
        } else if (validate_field(c, &q, end, M_RESOURCE_SPANS, f, w, depth) < 0) {
            goto done;
        }
    }
    PyObject *saved = wk->resource;
    wk->resource = resource;
    rc = 0;
    q = p;
    while (q < end && rc == 0) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if ((rc = read_tag(c, &q, end, &f, &w)) < 0) break;        /* checked in pass 1: cannot fail */
        if (f == 2 && is_field(M_RESOURCE_SPANS, f, w, K_MESSAGE)) {
            if ((rc = read_ld(c, &q, end, &a, &b)) < 0) break;
            rc = scope_spans_of(wk, a, b, depth + 1);
        } else {
            rc = skip_unknown(c, &q, end, f, w, depth);
        }
    }
    wk->resource = saved;
done:
    Py_DECREF(resource);
    return rc;
}

static PyObject *decode(KeysObject *keys, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t max_items = -1;
    if (!PyArg_ParseTuple(args, "y*|n", &buf, &max_items))
        return NULL;
    if (RawSpanType == NULL) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_RuntimeError, "llmpulse._otlpwire.configure() was not called");
        return NULL;
    }
    const uint8_t *p = buf.buf, *end = p + buf.len;
    Ctx c = {p, NULL, 0, 0, 0, max_items, 1};
    Walk wk = {&c, keys->all ? NULL : keys, PyList_New(0), NULL, NULL};
    if (wk.out == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    int rc = 0;
    while (p < end && rc == 0) {
        uint32_t f, w;
        const uint8_t *a, *b;
        if ((rc = read_tag(&c, &p, end, &f, &w)) < 0) break;
        if (f == 1 && is_field(M_REQUEST, f, w, K_MESSAGE)) {
            if ((rc = read_ld(&c, &p, end, &a, &b)) < 0) break;
            rc = resource_spans_of(&wk, a, b, 1);
        } else {
            rc = validate_field(&c, &p, end, M_REQUEST, f, w, 0);
        }
    }
    PyBuffer_Release(&buf);
    if (rc < 0) {
        Py_DECREF(wk.out);
        if (!c.py_err)
            PyErr_Format(DecodeError, "body is not a valid protobuf ExportTraceServiceRequest: %s at byte %zd",
                         c.err ? c.err : "malformed", c.err_at);
        return NULL;
    }
    if (!c.building) {
        Py_DECREF(wk.out);
        PyErr_Format(TooManyItems, "request carries more than %zd resources, scopes and spans "
                     "(server.max_spans_per_request)", max_items);
        return NULL;
    }
    return wk.out;
}

/* ------------------------------------------------------------- Keys type */

static void keys_dealloc(KeysObject *k) {
    if (k->keys) {
        for (Py_ssize_t i = 0; i <= k->mask; i++) Py_XDECREF(k->keys[i]);
    }
    PyMem_Free(k->keys);
    PyMem_Free(k->utf8);
    PyMem_Free(k->len);
    PyMem_Free(k->hash);
    Py_XDECREF(k->prefixes);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

static PyObject *keys_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    PyObject *names, *prefixes;
    if (!PyArg_ParseTuple(args, "OO!", &names, &PyTuple_Type, &prefixes))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(prefixes, i))) {
            PyErr_SetString(PyExc_TypeError, "prefixes must be str");
            return NULL;
        }
    }
    int all = names == Py_None;
    PyObject *seq = all ? PyTuple_New(0) : PySequence_Fast(names, "names must be iterable");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), slots = 8;
    while (slots < 2 * n + 2) slots *= 2;
    KeysObject *k = (KeysObject *)type->tp_alloc(type, 0);
    if (k == NULL) { Py_DECREF(seq); return NULL; }
    k->mask = slots - 1;
    k->keys = PyMem_Calloc(slots, sizeof(PyObject *));
    k->utf8 = PyMem_Calloc(slots, sizeof(char *));
    k->len = PyMem_Calloc(slots, sizeof(Py_ssize_t));
    k->hash = PyMem_Calloc(slots, sizeof(uint64_t));
    k->prefixes = Py_NewRef(prefixes);
    k->all = all;
    if (!k->keys || !k->utf8 || !k->len || !k->hash) {
        Py_DECREF(seq);
        Py_DECREF(k);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, j);
        Py_ssize_t len;
        const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &len) : NULL;
        if (s == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "names must be str");
            Py_DECREF(seq);
            Py_DECREF(k);
            return NULL;
        }
        uint64_t h = fnv((const uint8_t *)s, len);
        Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)k->mask);
        while (k->keys[i] != NULL) {
            if (k->len[i] == len && memcmp(k->utf8[i], s, len) == 0) break;
            i = (i + 1) & k->mask;
        }
        if (k->keys[i] != NULL) continue;       /* a name given twice */
        k->keys[i] = Py_NewRef(name);           /* keeps s alive */
        k->utf8[i] = s;
        k->len[i] = len;
        k->hash[i] = h;
    }
    Py_DECREF(seq);
    return (PyObject *)k;
}

static PyMethodDef keys_methods[] = {
    {"decode", (PyCFunction)decode, METH_VARARGS,
     "decode(body, max_items=-1) -> list[RawSpan]: span attributes outside these names are dropped.\n"
     "Raises DecodeError for a malformed body, TooManyItems past max_items (-1: no limit)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KeysType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "llmpulse._otlpwire.Keys",
    .tp_basicsize = sizeof(KeysObject),
    .tp_dealloc = (destructor)keys_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keys(names, prefixes): the span attribute names to build (names None: all of them);\n"
              ".decode(body, max_items).",
    .tp_methods = keys_methods,
    .tp_new = keys_new,
};

/* ------------------------------------------------------------- module */

/* configure(table, DecodeError, TooManyItems, RawSpan, RawEvent)
 * table: one dict per message, in the M_* order first, {field number: (kind, sub message index)}. */
static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *table, *de, *tm, *rs, *re;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyList_Type, &table, &de, &tm, &rs, &re))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(table);
    if (n < M_FIXED_COUNT || n > MAX_MSGS) {
        PyErr_Format(PyExc_ValueError, "table must hold %d to %d messages", M_FIXED_COUNT, MAX_MSGS);
        return NULL;
    }
    static Msg fresh[MAX_MSGS];
    memset(fresh, 0, sizeof fresh);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(table, i), *key, *val;
        Py_ssize_t pos = 0;
        if (!PyDict_Check(d)) {
            PyErr_SetString(PyExc_TypeError, "table entries must be dicts");
            return NULL;
        }
        while (PyDict_Next(d, &pos, &key, &val)) {
            long f = PyLong_AsLong(key), kind, sub;
            if (f == -1 && PyErr_Occurred()) return NULL;
            if (!PyArg_ParseTuple(val, "ll", &kind, &sub)) return NULL;
            if (f < 1 || f >= MAX_FIELD || kind <= K_NONE || kind > K_MESSAGE || sub < 0 || sub >= n) {
                PyErr_Format(PyExc_ValueError, "bad table entry: message %zd field %ld", i, f);
                return NULL;
            }
            fresh[i].f[f].kind = (uint8_t)kind;
            fresh[i].f[f].sub = (uint8_t)sub;
        }
    }
    memcpy(msgs, fresh, sizeof msgs);
    Py_XSETREF(DecodeError, Py_NewRef(de));
    Py_XSETREF(TooManyItems, Py_NewRef(tm));
    Py_XSETREF(RawSpanType, Py_NewRef(rs));
    Py_XSETREF(RawEventType, Py_NewRef(re));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS, "configure(table, DecodeError, TooManyItems, RawSpan, RawEvent)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "llmpulse._otlpwire",
    "OTLP trace requests read straight from the protobuf wire format (see llmpulse.otlp).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__otlpwire(void) {
    if (PyType_Ready(&KeysType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Keys", (PyObject *)&KeysType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH);
    return m;
}
