/* csv.h — a small reader for numeric CSV files with a header line (the metrics
 * `bptt train --log` writes, the curves `bptt gradflow --csv` writes). Empty
 * fields read as NaN; every other field must be a number. */
#ifndef BPTT_CSV_H
#define BPTT_CSV_H

#include <stddef.h>

typedef struct csv_table {
    int n_cols, n_rows;
    char **names;   /* [n_cols] header fields */
    double *cells;  /* [n_rows * n_cols], row-major; NaN where a field was empty */
} csv_table;

/* Read path; NULL and "path:line: message" in err on failure. Lines may end in
 * \n or \r\n; a row must have as many fields as the header; blank lines are skipped. */
csv_table *csv_read(const char *path, char *err, size_t n);
void csv_free(csv_table *t);
/* The index of the column called name, or -1. */
int csv_column(const csv_table *t, const char *name);
/* Cell (row, col); NaN when col < 0. */
double csv_cell(const csv_table *t, int row, int col);

#endif
