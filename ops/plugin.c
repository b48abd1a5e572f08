/* plugin.c — bp_plugin_load: a shared library's ops, registered at run time. */
#include "bptt_plugin.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The registration names without the layout version: the other type's of any version,
 * and this type's before versions (BP_PLUGIN_SYMBOL begins with it). */
#ifdef BP_DOUBLE
#define OTHER_SYMBOL "bptt_plugin_register_f32"
#define OLD_SYMBOL "bptt_plugin_register_f64"
#define THIS_BUILD "bptt_f64 (double)"
#define OTHER_BUILD "bptt (float)"
#define THIS_PC "bptt_f64"
#define OTHER_LIB "libbptt.so"
#else
#define OTHER_SYMBOL "bptt_plugin_register_f64"
#define OLD_SYMBOL "bptt_plugin_register_f32"
#define THIS_BUILD "bptt (float)"
#define OTHER_BUILD "bptt_f64 (double)"
#define THIS_PC "bptt"
#define OTHER_LIB "libbptt_f64.so"
#endif

#define MAX_PLUGINS 64
static void *loaded[MAX_PLUGINS];
static int n_loaded;

/* The double build reads DIR/NAME.so as DIR/NAME_f64.so when that exists. */
static const char *this_build_path(const char *path, char *buf, size_t n)
{
#ifdef BP_DOUBLE
    size_t len = strlen(path);
    if (len > 3 && !strcmp(path + len - 3, ".so") && len + 5 < n) {
        snprintf(buf, n, "%.*s_f64.so", (int)(len - 3), path);
        if (access(buf, F_OK) == 0)
            return buf;
    }
#else
    (void)buf;
    (void)n;
#endif
    return path;
}

/* Does the file hold this needle (a symbol name in its dynamic string table)? Read before
 * dlopen: a plugin of the other scalar type would load the other library with it, whose
 * symbols are this one's. */
static bool file_holds(FILE *f, const char *needle)
{
    size_t m = strlen(needle), have = 0;
    char buf[65536];
    rewind(f);
    for (size_t got; (got = fread(buf + have, 1, sizeof buf - have, f)) > 0;) {
        have += got;
        for (size_t i = 0; i + m <= have; i++)
            if (buf[i] == needle[0] && !memcmp(buf + i, needle, m))
                return true;
        size_t keep = have < m ? have : m - 1; /* a needle across the boundary */
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
    return false;
}

/* Which registration the file defines, when not this build's. */
enum { OURS, OTHER_TYPE, OLDER };
static int foreign(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return OURS; /* dlopen says why */
    int what = file_holds(f, BP_PLUGIN_SYMBOL) ? OURS
               : file_holds(f, OTHER_SYMBOL)   ? OTHER_TYPE
               : file_holds(f, OLD_SYMBOL)     ? OLDER
                                               : OURS; /* no registration: dlsym says so */
    fclose(f);
    return what;
}

static bp_status refuse(void *h, bp_error *err, bp_status st, const char *path, const char *what)
{
    bp_error_set(err, st, "plugin %s: %s", path, what);
    dlclose(h);
    return st;
}

bp_status bp_plugin_load(const char *path, bp_error *err)
{
#ifdef BPTT_NO_PLUGINS /* the fuzzing build: an input must not make it run a library's code */
    return bp_error_set(err, BP_ERR_VALUE, "plugin %s: plugins are off in this build", path);
#endif
    char twin[4096];
    path = this_build_path(path, twin, sizeof twin);
    /* dlopen reads a name without '/' from the library path, not from here */
    char local[4096];
    if (!strchr(path, '/') && snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
        path = local;
    int what = foreign(path);
    if (what == OTHER_TYPE)
        return bp_error_set(err, BP_ERR_VALUE, "plugin %s: built for " OTHER_BUILD " (it defines "
                            OTHER_SYMBOL "), but this program uses " THIS_BUILD ": build it "
                            "with pkg-config " THIS_PC, path);
    if (what == OLDER)
        return bp_error_set(err, BP_ERR_VALUE, "plugin %s: built against an older bptt (it "
                            "defines " OLD_SYMBOL ", not " BP_PLUGIN_SYMBOL "; the op descriptor "
                            "has changed): rebuild it against this one", path);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        bool other = why && strstr(why, OTHER_LIB);
        return bp_error_set(err, other ? BP_ERR_VALUE : BP_ERR_IO, "plugin %s: cannot load: %s%s",
                            path, why ? why : "unknown error",
                            other ? " (built for " OTHER_BUILD "; this program uses " THIS_BUILD
                                    ": build it with pkg-config " THIS_PC ")" : "");
    }
    for (int i = 0; i < n_loaded; i++)
        if (loaded[i] == h) {
            dlclose(h); /* the same library again: its ops are registered already */
            return BP_OK;
        }
    if (n_loaded == MAX_PLUGINS)
        return refuse(h, err, BP_ERR_VALUE, path, "too many plugins (at most 64)");
    bp_status (*reg)(bp_error *);
    *(void **)&reg = dlsym(h, BP_PLUGIN_SYMBOL);
    if (!reg)
        return refuse(h, err, BP_ERR_NAME, path,
                      "no registration function " BP_PLUGIN_SYMBOL " (a plugin defines it "
                      "with BP_PLUGIN_REGISTER, bptt_plugin.h)");
    loaded[n_loaded++] = h; /* kept open: the registry points into it */
    bp_error e = {0};
    bp_status st = reg(&e);
    if (st != BP_OK)
        return bp_error_set(err, st, "plugin %s: registration failed: %s", path,
                            e.msg[0] ? e.msg : bp_status_name(st));
    return BP_OK;
}
