/* test_layers.c — double-precision gradient checks of every layer and option,
 * unrolled over T = 1, 2 and 5 with batch 3, over all parameters at once. */
#include "test_layers_util.h"

#include <stdio.h>

static const int steps[] = {1, 2, 5};
#define B 3

/* Check the net made of layers over T = 1, 2, 5 with a random batch. */
static void check(const char *what, const bp_layer_spec *layers, int n, int input, bool tokens,
                  bp_head_kind head, bp_target_kind target, int O)
{
    for (int k = 0; k < 3; k++) {
        fixture f;
        fx_net(&f, layers, n, input, tokens, head, O, 0, 100 + (uint64_t)k);
        fx_batch(&f, B, steps[k], target, 200 + (uint64_t)k);
        char label[128];
        snprintf(label, sizeof label, "%s, T = %d", what, steps[k]);
        fx_gradcheck(&f, label);
        fx_free(&f);
    }
}

static void check_values(const char *what, const bp_layer_spec *layers, int n)
{
    check(what, layers, n, 3, false, BP_HEAD_LAST, BP_TARGET_VALUES, 2);
}

Test(layers_grad, rnn_tanh)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    check_values("rnn tanh", &l, 1);
}

Test(layers_grad, rnn_relu)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    l.act = BP_ACT_RELU;
    check_values("rnn relu", &l, 1);
}

Test(layers_grad, irnn_identity_init)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    l.act = BP_ACT_RELU;
    l.init = BP_INIT_IDENTITY;
    check_values("irnn", &l, 1);
}

Test(layers_grad, rnn_other_inits)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    l.init = BP_INIT_NORMAL;
    l.init_std = 0.5;
    check_values("rnn normal init", &l, 1);
    l.init = BP_INIT_ORTHOGONAL;
    l.spectral_radius = 1.5;
    check_values("rnn orthogonal init, spectral radius 1.5", &l, 1);
}

Test(layers_grad, rnn_residual_in_time)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 4);
    l.residual = true;
    check_values("rnn residual", &l, 1);
    l.act = BP_ACT_RELU;
    check_values("rnn relu residual", &l, 1);
}

Test(layers_grad, stacked_with_skips)
{
    bp_layer_spec l[4] = {fx_layer(BP_LAYER_RNN, 4), fx_layer(BP_LAYER_RNN, 4),
                          fx_layer(BP_LAYER_RNN, 4), fx_layer(BP_LAYER_RNN, 4)};
    check_values("stack of 2", l, 2);
    l[2].skip_from = 0;          /* rnn2 += rnn0 */
    l[3].skip_from = BP_SKIP_INPUT; /* rnn3 += its input, rnn2's output */
    l[1].act = BP_ACT_RELU;
    check_values("stack of 4 with skips", l, 4);
}

Test(layers_grad, skip_from_the_net_input)
{
    bp_layer_spec l = fx_layer(BP_LAYER_RNN, 3);
    l.skip_from = BP_SKIP_INPUT; /* input width 3 */
    check_values("rnn + input", &l, 1);
}

Test(layers_grad, linear_layers)
{
    bp_layer_spec l[3] = {fx_layer(BP_LAYER_LINEAR, 5), fx_layer(BP_LAYER_RNN, 4),
                          fx_layer(BP_LAYER_LINEAR, 4)};
    l[0].act = BP_ACT_TANH;
    l[2].act = BP_ACT_RELU;
    l[2].skip_from = 1;
    check_values("linear, rnn, linear", l, 3);
}

Test(layers_grad, lstm)
{
    bp_layer_spec l = fx_layer(BP_LAYER_LSTM, 4);
    check_values("lstm", &l, 1);
    l.forget_bias = 1;
    l.init = BP_INIT_ORTHOGONAL;
    check_values("lstm, forget bias 1, orthogonal", &l, 1);
}

Test(layers_grad, gru)
{
    bp_layer_spec l = fx_layer(BP_LAYER_GRU, 4);
    check_values("gru", &l, 1);
    l.init = BP_INIT_NORMAL;
    l.init_std = 0.4;
    check_values("gru, normal init", &l, 1);
}

Test(layers_grad, mixed_stack)
{
    bp_layer_spec l[3] = {fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_GRU, 4),
                          fx_layer(BP_LAYER_RNN, 4)};
    l[2].skip_from = 0;
    check_values("lstm, gru, rnn", l, 3);
}

Test(layers_grad, sequence_to_sequence)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_RNN, 4), fx_layer(BP_LAYER_LSTM, 3)};
    check("seq2seq rnn, lstm", l, 2, 3, false, BP_HEAD_SEQ, BP_TARGET_CLASS_SEQ, 4);
}

Test(layers_grad, class_of_the_last_step)
{
    bp_layer_spec l = fx_layer(BP_LAYER_GRU, 4);
    check("gru, class of the last step", &l, 1, 3, false, BP_HEAD_LAST, BP_TARGET_CLASS_LAST, 3);
}

Test(layers_grad, tokens_embedding_and_one_hot)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_EMBEDDING, 3), fx_layer(BP_LAYER_LSTM, 4)};
    check("embedding, lstm", l, 2, 6, true, BP_HEAD_SEQ, BP_TARGET_CLASS_SEQ, 6);
    bp_layer_spec g = fx_layer(BP_LAYER_GRU, 4);
    check("one-hot tokens, gru", &g, 1, 5, true, BP_HEAD_LAST, BP_TARGET_CLASS_LAST, 5);
}

/* clip_grad c = 10 sits on h_t; the loss's gradients are far below 10, so the clip is
 * inactive and the identity's gradient is the right one. */
Test(layers_grad, clip_nodes_inactive)
{
    bp_layer_spec l[3] = {fx_layer(BP_LAYER_RNN, 4), fx_layer(BP_LAYER_LSTM, 4),
                          fx_layer(BP_LAYER_GRU, 4)};
    for (int i = 0; i < 3; i++)
        l[i].clip_grad = 10;
    l[0].residual = true;
    check_values("clipped rnn, lstm, gru", l, 3);
}

/* Truncated BPTT: the state entering a chunk is a constant (its value from the chunk
 * before, no gradient), so the chunk's loss is checked with that state held fixed. */
static void check_chunk(const char *what, const bp_layer_spec *l, int n, bp_head_kind head,
                        bp_target_kind target, int t0, int t1)
{
    fixture f;
    fx_net(&f, l, n, 3, false, head, 3, 2, 300);
    fx_batch(&f, B, 5, target, 301);
    bp_error err = {0};
    f.saved = bp_net_state_new(f.net, B, &err);
    f.state = bp_net_state_new(f.net, B, &err);
    cr_assert(f.saved && f.state, "%s", err.msg);
    bp_tape *t = bp_tape_new();
    if (t0 > 0)
        cr_assert_not_null(bp_net_forward(f.net, t, f.batch, 0, t0, f.saved), "%s",
                           bp_tape_error(t)->msg);
    /* the state is not zero: the check is about a carried value */
    cr_assert_neq(bp_net_state_h(f.saved, 0)[0], 0);
    bp_tape_free(t);
    f.t0 = t0;
    f.t1 = t1;
    char label[128];
    snprintf(label, sizeof label, "%s, steps [%d, %d)", what, t0, t1);
    fx_gradcheck(&f, label);
    fx_free(&f);
}

Test(layers_grad, truncated_chunks)
{
    bp_layer_spec l[2] = {fx_layer(BP_LAYER_LSTM, 4), fx_layer(BP_LAYER_RNN, 4)};
    check_chunk("chunked seq2seq", l, 2, BP_HEAD_SEQ, BP_TARGET_CLASS_SEQ, 2, 4);
    check_chunk("chunked seq2seq", l, 2, BP_HEAD_SEQ, BP_TARGET_CLASS_SEQ, 4, 5);
    check_chunk("chunked seq2one", l, 2, BP_HEAD_LAST, BP_TARGET_VALUES, 2, 5);
    bp_layer_spec g = fx_layer(BP_LAYER_GRU, 4);
    check_chunk("chunked gru", &g, 1, BP_HEAD_SEQ, BP_TARGET_CLASS_SEQ, 1, 3);
}
