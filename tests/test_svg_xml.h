/* test_svg_xml.h — a tiny XML well-formedness checker for the tests (no libxml2):
 * one root element, balanced and properly nested tags, quoted attributes without
 * duplicates, valid entity references, comments, an optional <?xml ...?> prolog.
 * It checks form, not the SVG schema. Header-only, for the test files. */
#ifndef TEST_SVG_XML_H
#define TEST_SVG_XML_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline bool xml_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static inline bool xml_name_char(char c)
{
    return xml_name_start(c) || isdigit((unsigned char)c) || c == '-' || c == '.';
}

/* An entity reference at s ('&'); returns its length or 0 when invalid. */
static inline size_t xml_entity(const char *s)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (int i = 0; i < 5; i++)
        if (!strncmp(s, named[i], strlen(named[i])))
            return strlen(named[i]);
    if (s[1] != '#')
        return 0;
    size_t i = 2;
    bool hex = s[2] == 'x';
    i += hex;
    size_t start = i;
    while (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))
        i++;
    return i > start && s[i] == ';' ? i + 1 : 0;
}

/* Check text; on failure returns false and writes "offset N: what" into why. */
static inline bool xml_well_formed(const char *text, char *why, size_t n)
{
    enum { DEPTH = 256 };
    const char *stack[DEPTH];
    size_t len[DEPTH];
    int depth = 0, roots = 0;
    const char *p = text;
#define XML_FAIL(...)                                                                  \
    do {                                                                               \
        int k_ = snprintf(why, n, "offset %ld: ", (long)(p - text));                   \
        snprintf(why + (k_ > 0 && (size_t)k_ < n ? k_ : 0), n - (k_ > 0 && (size_t)k_ < n ? k_ : 0), \
                 __VA_ARGS__);                                                         \
        return false;                                                                  \
    } while (0)
    if (!strncmp(p, "<?xml", 5)) {
        const char *e = strstr(p, "?>");
        if (!e)
            XML_FAIL("unterminated <?xml");
        p = e + 2;
    }
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                size_t e = xml_entity(p);
                if (!e)
                    XML_FAIL("bad entity reference");
                p += e;
                continue;
            }
            if (depth == 0 && !isspace((unsigned char)*p))
                XML_FAIL("text outside the root element");
            if (*p == '>')
                XML_FAIL("'>' in text");
            p++;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            const char *e = strstr(p + 4, "-->");
            if (!e)
                XML_FAIL("unterminated comment");
            p = e + 3;
            continue;
        }
        bool closing = p[1] == '/';
        p += closing ? 2 : 1;
        const char *name = p;
        if (!xml_name_start(*p))
            XML_FAIL("bad tag name");
        while (xml_name_char(*p))
            p++;
        size_t nl = (size_t)(p - name);
        if (closing) {
            while (isspace((unsigned char)*p))
                p++;
            if (*p != '>')
                XML_FAIL("junk in a closing tag");
            if (!depth || len[depth - 1] != nl || strncmp(stack[depth - 1], name, nl))
                XML_FAIL("</%.*s> does not close the open element", (int)nl, name);
            depth--;
            p++;
            continue;
        }
        if (depth == 0 && roots++)
            XML_FAIL("a second root element");
        const char *attrs[64];
        size_t alen[64];
        int na = 0;
        for (;;) {
            bool space = isspace((unsigned char)*p);
            while (isspace((unsigned char)*p))
                p++;
            if (*p == '>' || !strncmp(p, "/>", 2))
                break;
            if (!space || !xml_name_start(*p))
                XML_FAIL("bad attribute in <%.*s>", (int)nl, name);
            const char *an = p;
            while (xml_name_char(*p))
                p++;
            size_t al = (size_t)(p - an);
            for (int i = 0; i < na; i++)
                if (alen[i] == al && !strncmp(attrs[i], an, al))
                    XML_FAIL("duplicate attribute %.*s", (int)al, an);
            if (na < 64) {
                attrs[na] = an;
                alen[na++] = al;
            }
            if (*p != '=' || (p[1] != '"' && p[1] != '\''))
                XML_FAIL("attribute %.*s is not name=\"value\"", (int)al, an);
            char q = p[1];
            p += 2;
            while (*p && *p != q) {
                if (*p == '<')
                    XML_FAIL("'<' in an attribute value");
                if (*p == '&') {
                    size_t e = xml_entity(p);
                    if (!e)
                        XML_FAIL("bad entity reference in an attribute");
                    p += e;
                } else {
                    p++;
                }
            }
            if (!*p)
                XML_FAIL("unterminated attribute value");
            p++;
        }
        if (*p == '/') {
            p += 2;
            continue;
        }
        if (depth == DEPTH)
            XML_FAIL("nested too deep");
        stack[depth] = name;
        len[depth++] = nl;
        p++;
    }
    if (depth)
        XML_FAIL("<%.*s> is not closed", (int)len[depth - 1], stack[depth - 1]);
    if (!roots)
        XML_FAIL("no root element");
#undef XML_FAIL
    return true;
}

/* Occurrences of needle in hay. */
static inline int count_of(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

/* The whole file, NUL-terminated (NULL when unreadable); free it. */
static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

#endif
