/*
 * The formatted printer behind kprintf and fmt_snprintf. Pure C: no
 * allocation, no floating point, bounded stack, compiles for the host too.
 */
#include <lib/fmt.h>
#include <stdbool.h>
#include <stdint.h>

struct spec {
	bool left;      /* '-': pad on the right */
	bool zero;      /* '0': pad numbers with zeros */
	int width;      /* minimum field width */
	int precision;  /* %s: maximum characters; -1 if absent */
	int length;     /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
};

struct out {
	fmt_put_fn put;
	void *ctx;
	int count;
};

static void emit(struct out *o, char c)
{
	o->put(o->ctx, c);
	o->count++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

/* Prints exactly len characters of s, padded to the field width. */
static void emit_chars(struct out *o, const struct spec *sp, const char *s,
		       int len)
{
	if (!sp->left)
		pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		emit(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

static void emit_str(struct out *o, const struct spec *sp, const char *s)
{
	int len = 0;

	if (!s)
		s = "(null)";
	while ((sp->precision < 0 || len < sp->precision) && s[len])
		len++;
	emit_chars(o, sp, s, len);
}

/* Prints |v| in base, with an optional sign or prefix, honouring width. */
static void emit_num(struct out *o, const struct spec *sp, uint64_t v,
		     unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = 0, plen = 0;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (prefix[plen])
		plen++;
	int fill = sp->width - n - plen;

	if (!sp->left && !sp->zero)
		pad(o, ' ', fill);
	for (int i = 0; i < plen; i++)
		emit(o, prefix[i]);
	if (!sp->left && sp->zero)
		pad(o, '0', fill);
	while (n)
		emit(o, buf[--n]);
	if (sp->left)
		pad(o, ' ', fill);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->precision = 0;
		if (*f == '*') {
			sp->precision = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->precision = sp->precision * 10 + (*f++ - '0');
	}
	for (;; f++) {
		if (*f == 'l')
			sp->length = sp->length == 1 ? 2 : 1;
		else if (*f == 'h')
			sp->length = sp->length == -1 ? -2 : -1;
		else if (*f == 'z')
			sp->length = 3;
		else
			return f;
	}
}

static int64_t signed_arg(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 1: return va_arg(*ap, long);
	case 2: return va_arg(*ap, long long);
	case 3: return (int64_t)va_arg(*ap, size_t);
	case -1: return (short)va_arg(*ap, int);
	case -2: return (signed char)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

static uint64_t unsigned_arg(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 1: return va_arg(*ap, unsigned long);
	case 2: return va_arg(*ap, unsigned long long);
	case 3: return va_arg(*ap, size_t);
	case -1: return (unsigned short)va_arg(*ap, unsigned);
	case -2: return (unsigned char)va_arg(*ap, unsigned);
	default: return va_arg(*ap, unsigned);
	}
}

static void convert(struct out *o, char conv, struct spec *sp, va_list *ap)
{
	char c;

	switch (conv) {
	case 'd':
	case 'i': {
		int64_t v = signed_arg(sp, ap);
		uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

		emit_num(o, sp, mag, 10, false, v < 0 ? "-" : "");
		break;
	}
	case 'u':
		emit_num(o, sp, unsigned_arg(sp, ap), 10, false, "");
		break;
	case 'x':
	case 'X':
		emit_num(o, sp, unsigned_arg(sp, ap), 16, conv == 'X', "");
		break;
	case 'p':
		emit_num(o, sp, (uintptr_t)va_arg(*ap, void *), 16, false, "0x");
		break;
	case 's':
		emit_str(o, sp, va_arg(*ap, const char *));
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		emit_chars(o, sp, &c, 1);
		break;
	default:
		emit(o, '%');
		if (conv)
			emit(o, conv);
		break;
	}
}

int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
	struct out o = { .put = put, .ctx = ctx };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			emit(&o, *fmt++);
			continue;
		}
		if (fmt[1] == '%') {
			emit(&o, '%');
			fmt += 2;
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		convert(&o, *fmt, &sp, &args);
		if (*fmt)
			fmt++;
	}
	va_end(args);
	return o.count;
}

struct buf_ctx {
	char *buf;
	size_t size;
	size_t len;
};

static void buf_put(void *ctx, char c)
{
	struct buf_ctx *b = ctx;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_ctx b = { .buf = buf, .size = size };
	int n = fmt_vformat(buf_put, &b, fmt, ap);

	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
