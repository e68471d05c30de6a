/*
 * test_msg.c - messages outside any runtime: atoll_msg_new lays out the
 * header and an inline payload of the asked size, atoll_msg_new_copy copies
 * the bytes it is given, atoll_msg_attach swaps in an external buffer whose
 * release hook runs exactly once when the message is freed, and freeing NULL
 * is a no-op. Leaks show up under ASan/LSan.
 */
#include "helpers.h"

enum {
	MSG_PLAIN = ATOLL_MSG_USER,
	MSG_OTHER,
};

static void msg_new_sets_type_len_cap_and_points_data_at_inline_payload(void **state)
{
	static const size_t sizes[] = { 1, 7, 64, 100, 4096, 65536 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		atoll_msg *m = atoll_msg_new(MSG_PLAIN, sizes[i]);
		char *inline_start;

		assert_non_null(m);
		assert_int_equal(m->type, MSG_PLAIN);
		assert_int_equal(m->len, sizes[i]);
		assert_true(m->cap >= m->len);
		assert_non_null(m->data);
		/* Inline: the payload follows the header in the same
		 * allocation (allowing for alignment padding). */
		inline_start = (char *)(m + 1);
		assert_true((char *)m->data >= inline_start);
		assert_true((char *)m->data - inline_start < 64);
		assert_null(m->release);
		/* The whole payload is writable (ASan checks the bounds). */
		memset(m->data, 0xa5, m->cap);
		atoll_msg_free(m);
	}
}

static void msg_new_with_zero_length_payload_is_valid(void **state)
{
	atoll_msg *m = atoll_msg_new(MSG_OTHER, 0);

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->type, MSG_OTHER);
	assert_int_equal(m->len, 0);
	atoll_msg_free(m);
}

static void msg_new_has_no_reply_to_and_no_correlation_id(void **state)
{
	atoll_msg *m = atoll_msg_new(MSG_PLAIN, 16);

	(void)state;
	assert_non_null(m);
	/* A fresh message must not look like a request someone waits on. */
	assert_true(m->reply_to == ATOLL_REF_NONE);
	assert_int_equal(m->corr, 0);
	atoll_msg_free(m);
}

static void msg_new_copy_copies_payload_into_the_message(void **state)
{
	unsigned char src[300];
	atoll_msg *m;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + 3);
	m = atoll_msg_new_copy(MSG_OTHER, src, sizeof(src));
	assert_non_null(m);
	assert_int_equal(m->type, MSG_OTHER);
	assert_int_equal(m->len, sizeof(src));
	assert_true(m->cap >= sizeof(src));
	assert_true(m->data != (void *)src);
	assert_memory_equal(m->data, src, sizeof(src));
	/* A copy, not a reference: changing the source changes nothing. */
	memset(src, 0, sizeof(src));
	for (size_t i = 0; i < sizeof(src); i++)
		assert_int_equal(((unsigned char *)m->data)[i], (unsigned char)(i * 7 + 3));
	atoll_msg_free(m);
}

static int release_calls;
static atoll_msg *released_msg;
static void *released_data;

static void count_release(atoll_msg *msg)
{
	release_calls++;
	released_msg = msg;
	released_data = msg->data;
	free(msg->data);
}

static void msg_attach_calls_release_exactly_once_on_free(void **state)
{
	atoll_msg *m = atoll_msg_new(MSG_PLAIN, 8);
	char *buf = malloc(200);

	(void)state;
	assert_non_null(m);
	assert_non_null(buf);
	memcpy(buf, "attached", 9);
	release_calls = 0;
	atoll_msg_attach(m, buf, 9, 200, count_release);
	assert_ptr_equal(m->data, buf);
	assert_int_equal(m->len, 9);
	assert_int_equal(m->cap, 200);
	assert_int_equal(m->type, MSG_PLAIN);
	assert_int_equal(release_calls, 0);

	atoll_msg_free(m);
	assert_int_equal(release_calls, 1);
	assert_ptr_equal(released_msg, m);
	assert_ptr_equal(released_data, buf);
}

static void msg_attach_without_release_frees_only_the_message(void **state)
{
	static char outside[32] = "owned by the test, not the msg";
	atoll_msg *m = atoll_msg_new(MSG_PLAIN, 0);

	(void)state;
	assert_non_null(m);
	atoll_msg_attach(m, outside, 10, sizeof(outside), NULL);
	assert_ptr_equal(m->data, outside);
	atoll_msg_free(m);
	/* The buffer is untouched (and was not passed to free: ASan). */
	assert_string_equal(outside, "owned by the test, not the msg");
}

static void msg_free_null_is_a_noop(void **state)
{
	(void)state;
	atoll_msg_free(NULL);
}

/* Allocates and frees on its own thread, then hands one message back. */
static void *alloc_free_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		atoll_msg *m = atoll_msg_new(MSG_PLAIN, (size_t)(i % 200) + 1);

		if (m == NULL)
			return NULL;
		memset(m->data, i & 0xff, m->len);
		atoll_msg_free(m);
	}
	return atoll_msg_new_copy(MSG_OTHER, "handed over", 12);
}

static void msg_new_and_free_work_from_any_thread(void **state)
{
	pthread_t threads[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, alloc_free_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		atoll_msg *m = NULL;

		pthread_join(threads[i], (void **)&m);
		/* Allocated on that thread, freed on this one: a legal move. */
		assert_non_null(m);
		assert_string_equal(m->data, "handed over");
		atoll_msg_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msg_new_sets_type_len_cap_and_points_data_at_inline_payload),
		cmocka_unit_test(msg_new_with_zero_length_payload_is_valid),
		cmocka_unit_test(msg_new_has_no_reply_to_and_no_correlation_id),
		cmocka_unit_test(msg_new_copy_copies_payload_into_the_message),
		cmocka_unit_test(msg_attach_calls_release_exactly_once_on_free),
		cmocka_unit_test(msg_attach_without_release_frees_only_the_message),
		cmocka_unit_test(msg_free_null_is_a_noop),
		cmocka_unit_test(msg_new_and_free_work_from_any_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
