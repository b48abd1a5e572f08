/* bptt_plugin.h — ops from a shared library, loaded at run time: a plugin.
 *
 * A plugin is a shared library, built against the installed bptt (or bptt_f64), that
 * defines one function, its registration, which registers its ops with bp_op_register:
 *
 *     #include <bptt_plugin.h>
 *     BP_PLUGIN_REGISTER(err)
 *     {
 *         return bp_op_register(&swish_op, err);
 *     }
 *
 *     cc -std=c11 -O2 -shared -fPIC swish.c $(pkg-config --cflags --libs bptt) -o libswish.so
 *
 * `bptt COMMAND --plugin ./libswish.so` (any command, repeatable) and a model file's
 * `plugins: [libswish.so]` load it; from C, bp_plugin_load. The registration's name says
 * the scalar type it was built for and the layout of the op descriptor it fills
 * (bptt_plugin_register_f32_v2 or _f64_v2; v2: bp_op.unsaved), so a plugin built for the
 * other type, or against an older bptt whose bp_op lacked a field, is refused by name,
 * before any of its code runs. docs/extending.md has the worked example.
 */
#ifndef BPTT_PLUGIN_H
#define BPTT_PLUGIN_H

#include "bptt_ops.h"

#ifdef __cplusplus
extern "C" {
#endif
BP_API_BEGIN

/* _v2: bump with every change to bp_op's layout (a field added moves the ones after it) */
#ifdef BP_DOUBLE
#define BP_PLUGIN_SYMBOL "bptt_plugin_register_f64_v2"
#define BP_PLUGIN_FUNCTION bptt_plugin_register_f64_v2
#else
#define BP_PLUGIN_SYMBOL "bptt_plugin_register_f32_v2"
#define BP_PLUGIN_FUNCTION bptt_plugin_register_f32_v2
#endif

/* Defines the plugin's registration: BP_PLUGIN_REGISTER(err) { ... return BP_OK; } —
 * register every op (bp_op_register(&op, err)) and return the first failure. */
#define BP_PLUGIN_REGISTER(err) \
    __attribute__((visibility("default"))) bp_status BP_PLUGIN_FUNCTION(bp_error *err); \
    __attribute__((visibility("default"))) bp_status BP_PLUGIN_FUNCTION(bp_error *err)

/* Load the plugin at path (dlopen) and run its registration. Loading a file already
 * loaded does nothing. In the double build, "DIR/NAME.so" is read as "DIR/NAME_f64.so"
 * when that file exists: the double build of a plugin lies beside the float one, so
 * `bptt gradcheck`'s double-precision run finds it from the same path. Errors name the
 * file: "plugin ./libswish.so: cannot load: ..." (a missing file, unresolved symbols;
 * BP_ERR_IO), no registration function (BP_ERR_NAME), built for the other scalar type or
 * against an older descriptor (BP_ERR_VALUE), and the registration's own failure (a taken name, a bad descriptor:
 * bp_op_register's errors). Ops registered before a failure stay registered. Not
 * thread-safe: load from one thread, before recording. */
bp_status bp_plugin_load(const char *path, bp_error *err);

BP_API_END

#ifdef __cplusplus
}
#endif

#endif
