/* st_bytes.h — little-endian loads and stores, whatever the host's byte order.
 * Internal to the safetensors files. */
#ifndef BPTT_MODELS_ST_BYTES_H
#define BPTT_MODELS_ST_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint32_t st_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t st_le64(const unsigned char *p)
{
    return (uint64_t)st_le32(p) | (uint64_t)st_le32(p + 4) << 32;
}

static inline void st_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void st_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline float st_f32(const unsigned char *p)
{
    uint32_t u = st_le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline double st_f64(const unsigned char *p)
{
    uint64_t u = st_le64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

#endif
