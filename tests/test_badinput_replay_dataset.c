/* test_badinput_replay_dataset.c — every input in tests/data/fuzz/dataset/ replayed through
 * the fuzz target itself (tests/fuzz/fuzz_dataset.c) in the ordinary build: each must
 * load or fail with a one-line message naming the file, never crash. */
#include "fuzz/fuzz_dataset.c"

#include "test_replay.h"

Test(replay, dataset_inputs_load_or_fail_with_a_message)
{
    cr_expect_gt(replay_folder(BPTT_SOURCE_DIR "/tests/data/fuzz/dataset"), 0);
}
