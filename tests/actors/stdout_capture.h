/*
 * stdout_capture.h - collects what actors print on stdout (their summary
 * lines) while a test runs, by pointing fd 1 at a temporary file.
 */
#ifndef ATOLL_TEST_STDOUT_CAPTURE_H
#define ATOLL_TEST_STDOUT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stdout_capture {
	FILE *file;
	int saved;
};

static inline void capture_start(struct stdout_capture *c)
{
	fflush(stdout);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(STDOUT_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), STDOUT_FILENO) >= 0);
}

/* Restores stdout and returns what was printed (free it), also echoed. */
static inline char *capture_end(struct stdout_capture *c)
{
	long len;
	char *text;

	fflush(stdout);
	assert_true(dup2(c->saved, STDOUT_FILENO) >= 0);
	close(c->saved);
	len = ftell(c->file);
	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	rewind(c->file);
	assert_int_equal(fread(text, 1, (size_t)len, c->file), (size_t)len);
	fclose(c->file);
	fputs(text, stdout);
	return text;
}

#endif /* ATOLL_TEST_STDOUT_CAPTURE_H */
