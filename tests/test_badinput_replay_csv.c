/* test_badinput_replay_csv.c — every input in tests/data/fuzz/csv/ and the seeds in
 * tests/fuzz/seeds/csv/ replayed through the fuzz target itself (tests/fuzz/fuzz_csv.c)
 * in the ordinary build: each must parse or fail with a message, never crash. */
#include "fuzz/fuzz_csv.c"

#include "test_replay.h"

Test(replay, csv_inputs_parse_or_fail_with_a_message)
{
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/data/fuzz/csv"), 0);
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/fuzz/seeds/csv"), 0);
}
