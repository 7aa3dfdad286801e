/*
 * The console sink of host tests (console_capture.h).
 */
#include "console_capture.h"

#include <string.h>

char capture_out[CAPTURE_MAX];
size_t capture_len;

void capture_console(const char *s, size_t n)
{
	if (n > sizeof(capture_out) - 1 - capture_len)
		n = sizeof(capture_out) - 1 - capture_len;
	memcpy(capture_out + capture_len, s, n);
	capture_len += n;
	capture_out[capture_len] = '\0';
}
