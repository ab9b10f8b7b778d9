/* SPDX-License-Identifier: BSD-2-Clause */
/* table.c: the printers every report shares: an aligned table, a JSON
 * array of objects, RFC 4180 CSV. One process-wide setting (the table
 * options of hops, clients, fingerprints and changes) chooses the columns
 * (--columns, by result column name as in the CSV header), the rows
 * (--limit) and the width (a terminal's, unless --wide).
 *
 * Fitting a table into W columns: first the report's optional columns are
 * hidden in its order (only when --columns was not given), then text
 * columns are shortened from the rightmost on, each down to 8 characters
 * (or its heading), so the columns that name a row (server, SNI, client,
 * fingerprint) keep their text longest; a shortened cell ends in an
 * ellipsis. Numbers are never
 * shortened. When even that does not fit, columns are hidden from the
 * right. A note under the table names what was hidden or left out. */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

#include "kexwatch/emit.h"

static struct kx_table_opts topts;
static char terr[1024];
static bool terr_set;

void kx_table_configure(const struct kx_table_opts *o)
{
	if (o)
		topts = *o;
	else
		memset(&topts, 0, sizeof(topts));
	terr_set = false;
	terr[0] = '\0';
}

const char *kx_table_error(void)
{
	return terr_set ? terr : NULL;
}

/* A cell as table text: "-" for NULL, blobs by length only. */
static const char *cell_text(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		return "-";
	case SQLITE_INTEGER:
		kx_i64_text((long long)sqlite3_column_int64(s, col), buf, len);
		return buf;
	case SQLITE_FLOAT:
		snprintf(buf, len, "%.6g", sqlite3_column_double(s, col));
		return buf;
	case SQLITE_BLOB:
		snprintf(buf, len, "(%d-byte blob)", sqlite3_column_bytes(s, col));
		return buf;
	default:
		return (const char *)sqlite3_column_text(s, col);
	}
}

/* Prints at most w display columns of s (full of them: kx_cell_width),
 * the last one an ellipsis when s is wider; returns the columns printed. */
static size_t cell_print_fit_w(FILE *out, const char *s, size_t w, size_t full)
{
	size_t used = 0;

	if (full <= w) {
		kx_cell_print(out, s);
		return full;
	}
	if (w == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t cw = (*p < 0x20 || *p == 0x7f) ? 4 : 1;
		size_t len = 1;
		if (used + cw > w - 1)
			break;
		if (cw == 4) {
			fprintf(out, "\\x%02x", *p);
		} else {
			while ((p[len] & 0xc0) == 0x80)
				len++;
			fwrite(p, 1, len, out);
		}
		p += len;
		used += cw;
	}
	fputs("\xe2\x80\xa6", out); /* U+2026 HORIZONTAL ELLIPSIS */
	return used + 1;
}

static size_t cell_print_fit(FILE *out, const char *s, size_t w)
{
	return cell_print_fit_w(out, s, w, kx_cell_width(s));
}

struct tcol {
	int idx;
	const char *head;
	char *own_head;    /* a heading made from a --columns name */
	size_t width, natural, floor;
	bool num, hidden;
	bool detect;       /* numeric until a text value shows */
};

static void free_cols(struct tcol *t, int n)
{
	for (int i = 0; t && i < n; i++)
		free(t[i].own_head);
	free(t);
}

static int stmt_col(sqlite3_stmt *s, const char *name)
{
	for (int c = 0; c < sqlite3_column_count(s); c++)
		if (strcmp(sqlite3_column_name(s, c), name) == 0)
			return c;
	return -1;
}

static void unknown_column(sqlite3_stmt *s, const char *name, size_t len)
{
	int k = snprintf(terr, sizeof(terr), "--columns: unknown column '%.*s'; the columns are ",
			 (int)len, name);
	for (int c = 0; c < sqlite3_column_count(s) && k > 0 && (size_t)k < sizeof(terr); c++)
		k += snprintf(terr + k, sizeof(terr) - (size_t)k, "%s%s", c ? "," : "",
			      sqlite3_column_name(s, c));
	terr_set = true;
}

/* The columns of a --columns list: indexes into s, or -1 with terr set.
 * *ret is malloc'd; returns the count. */
static int pick_columns(sqlite3_stmt *s, const char *list, int **ret)
{
	size_t cap = 1;
	int n = 0, *v;

	for (const char *p = list; *p; p++)
		cap += *p == ',';
	if (!(v = calloc(cap, sizeof(*v))))
		return -1;
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		char name[128];
		int c = -1;
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			c = stmt_col(s, name);
		}
		if (c < 0) {
			unknown_column(s, p, len);
			free(v);
			return -1;
		}
		v[n++] = c;
		if (!p[len])
			break;
		p += len + 1;
	}
	*ret = v;
	return n;
}

/* The table's columns: the report's, or the --columns list, whose names
 * take the report's heading (or that of its display form NAME_s). */
static struct tcol *table_columns(sqlite3_stmt *s, const struct kx_col *cols, size_t n_cols,
				  int *ret_n)
{
	struct tcol *t;
	int n, *pick = NULL;

	if (topts.columns) {
		if ((n = pick_columns(s, topts.columns, &pick)) < 0)
			return NULL;
	} else {
		n = cols ? (int)n_cols : sqlite3_column_count(s);
	}
	if (!(t = calloc((size_t)(n ? n : 1), sizeof(*t)))) {
		free(pick);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (pick) {
			const char *name = sqlite3_column_name(s, pick[i]);
			size_t len = strlen(name);
			const struct kx_col *k = NULL;
			t[i].idx = pick[i];
			t[i].num = t[i].detect = true;
			for (size_t j = 0; cols && j < n_cols && !k; j++)
				if (strncmp(cols[j].name, name, len) == 0 &&
				    (!cols[j].name[len] || strcmp(cols[j].name + len, "_s") == 0))
					k = &cols[j];
			if (k) {
				int d = stmt_col(s, k->name);
				t[i].head = k->head;
				t[i].num = k->num;
				t[i].detect = false;
				if (d >= 0)
					t[i].idx = d;
			} else if ((t[i].own_head = strdup(name))) {
				for (char *p = t[i].own_head; *p; p++)
					*p = *p == '_' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
				t[i].head = t[i].own_head;
			} else {
				t[i].head = name;
			}
		} else if (cols) {
			t[i].head = cols[i].head;
			t[i].num = cols[i].num;
			if ((t[i].idx = stmt_col(s, cols[i].name)) < 0) {
				snprintf(terr, sizeof(terr), "the report has no column '%s'", cols[i].name);
				free_cols(t, n);
				free(pick);
				return NULL;
			}
		} else {
			t[i].idx = i;
			t[i].head = sqlite3_column_name(s, i);
			t[i].num = t[i].detect = true;
		}
	}
	free(pick);
	*ret_n = n;
	return t;
}

static size_t total_width(const struct tcol *t, int n)
{
	size_t w = 0;
	int shown = 0;

	for (int i = 0; i < n; i++) {
		if (t[i].hidden)
			continue;
		w += t[i].width + (shown++ ? 2 : 0);
	}
	return w;
}

/* Hides and shortens columns until the table is at most w wide. */
static void fit(sqlite3_stmt *s, struct tcol *t, int n, const char *const *drop, size_t w)
{
	if (total_width(t, n) <= w)
		return;
	for (size_t d = 0; drop && drop[d] && !topts.columns; d++) {
		for (int i = 0; i < n; i++)
			if (!t[i].hidden && strcmp(drop[d], sqlite3_column_name(s, t[i].idx)) == 0)
				t[i].hidden = true;
		if (total_width(t, n) <= w)
			return;
	}
	/* Then shorten text from the right: the first columns name the row. */
	for (int i = n - 1; i >= 0; i--) {
		size_t over = total_width(t, n);
		if (over <= w)
			return;
		over -= w;
		if (t[i].hidden || t[i].num || t[i].width <= t[i].floor)
			continue;
		t[i].width -= over < t[i].width - t[i].floor ? over : t[i].width - t[i].floor;
	}
	/* Still too wide: hide from the right, but keep one column. */
	for (int i = n - 1; i > 0 && total_width(t, n) > w; i--)
		t[i].hidden = true;
	for (int i = 0; i < n && total_width(t, n) > w; i++)
		if (!t[i].num && !t[i].hidden)
			t[i].width = w > 1 ? w : 1;
}

static void print_row(FILE *out, const struct tcol *t, int n, const char *const *v)
{
	int last = -1, shown = 0;

	for (int i = 0; i < n; i++)
		if (!t[i].hidden)
			last = i;
	for (int i = 0; i < n; i++) {
		size_t used, cw;
		if (t[i].hidden)
			continue;
		if (shown++)
			fputs("  ", out);
		cw = kx_cell_width(v[i]);
		if (t[i].num && cw < t[i].width)
			kx_cell_pad(out, t[i].width - cw);
		used = cell_print_fit_w(out, v[i], t[i].width, cw);
		/* Numbers right-aligned, text left-aligned, no trailing blanks. */
		if (!t[i].num && i != last && used < t[i].width)
			kx_cell_pad(out, t[i].width - used);
	}
	putc('\n', out);
}

/* A note under a table, itself shortened to the width. */
static void print_note(FILE *out, const char *note)
{
	if (topts.width)
		cell_print_fit(out, note, topts.width);
	else
		kx_cell_print(out, note);
	putc('\n', out);
}

/* A report's query can take seconds, and a table needs its widths before
 * its first line. So the rows it prints go once into a private temporary
 * database (SQLite's own temporary file: past a small page cache they are
 * on disk, so memory stays bounded), which the printing pass reads back.
 * Returns -1 when that cannot be made: the query then runs twice. */
static int buffer_open(int ncol, sqlite3 **db, sqlite3_stmt **ins, sqlite3_stmt **rd)
{
	sqlite3_str *ddl = sqlite3_str_new(NULL), *q = sqlite3_str_new(NULL);
	char *ddl_s, *q_s;
	int rc = -1;

	*db = NULL;
	*ins = *rd = NULL;
	sqlite3_str_appendall(ddl, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
				   " CREATE TABLE b (");
	sqlite3_str_appendall(q, "INSERT INTO b VALUES (");
	for (int i = 0; i < ncol; i++) {
		sqlite3_str_appendf(ddl, "%sc%d", i ? ", " : "", i);
		sqlite3_str_appendall(q, i ? ", ?" : "?");
	}
	sqlite3_str_appendall(ddl, ")");
	sqlite3_str_appendall(q, ")");
	ddl_s = sqlite3_str_finish(ddl);
	q_s = sqlite3_str_finish(q);
	if (ncol > 0 && ddl_s && q_s &&
	    sqlite3_open_v2("", db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
	    sqlite3_exec(*db, ddl_s, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(*db, q_s, -1, ins, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(*db, "SELECT * FROM b ORDER BY rowid", -1, rd, NULL) == SQLITE_OK)
		rc = 0;
	sqlite3_free(ddl_s);
	sqlite3_free(q_s);
	if (rc < 0) {
		sqlite3_finalize(*ins);
		sqlite3_finalize(*rd);
		sqlite3_close(*db);
		*db = NULL;
		*ins = *rd = NULL;
	}
	return rc;
}

/* Only the table's columns, in its order: clients prints 13 of 31. */
static bool buffer_row(sqlite3_stmt *ins, sqlite3_stmt *s, const struct tcol *t, int n)
{
	for (int i = 0; i < n; i++)
		sqlite3_bind_value(ins, i + 1, sqlite3_column_value(s, t[i].idx));
	bool ok = sqlite3_step(ins) == SQLITE_DONE;
	sqlite3_reset(ins);
	return ok;
}

static int print_table(sqlite3_stmt *s, const struct kx_col *cols, size_t n_cols,
		       const char *const *drop, FILE *out)
{
	sqlite3 *bdb = NULL;
	sqlite3_stmt *ins = NULL, *rd = NULL, *p = s;
	long long rows = 0, more = 0;
	const char **v = NULL;
	char (*nums)[48] = NULL;
	struct tcol *t;
	char num[48];
	int n = 0, rc;

	if (!(t = table_columns(s, cols, n_cols, &n)))
		return terr[0] ? SQLITE_ERROR : SQLITE_NOMEM;
	v = calloc((size_t)(n ? n : 1), sizeof(*v));
	nums = calloc((size_t)(n ? n : 1), sizeof(*nums));
	if (!v || !nums) {
		free(v);
		free(nums);
		free_cols(t, n);
		return SQLITE_NOMEM;
	}
	for (int i = 0; i < n; i++)
		t[i].width = kx_cell_width(t[i].head);
	if (buffer_open(n, &bdb, &ins, &rd) == 0)
		p = rd;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (topts.limit > 0 && rows >= topts.limit) {
			more++;
			continue;
		}
		rows++;
		/* Before the widths: reading a value as text may change its type.
		 * A buffer that fails (no room for its temporary file) is
		 * dropped, and the query runs again for the printing pass. */
		if (ins && !buffer_row(ins, s, t, n)) {
			sqlite3_finalize(ins);
			sqlite3_finalize(rd);
			sqlite3_close(bdb);
			bdb = NULL;
			ins = rd = NULL;
			p = s;
		}
		for (int i = 0; i < n; i++) {
			int type = sqlite3_column_type(s, t[i].idx);
			size_t w = kx_cell_width(cell_text(s, t[i].idx, num, sizeof(num)));
			if (w > t[i].width)
				t[i].width = w;
			if (t[i].detect && type != SQLITE_INTEGER && type != SQLITE_FLOAT &&
			    type != SQLITE_NULL)
				t[i].num = false;
		}
	}
	if (rc != SQLITE_DONE)
		goto out;
	if (p == s)
		sqlite3_reset(s);
	for (int i = 0; i < n; i++) {
		size_t hw = kx_cell_width(t[i].head);
		t[i].natural = t[i].width;
		t[i].floor = hw > 8 ? hw : 8;
		if (t[i].floor > t[i].natural)
			t[i].floor = t[i].natural;
	}
	if (topts.width)
		fit(s, t, n, drop, topts.width);

	for (int i = 0; i < n; i++)
		v[i] = t[i].head;
	print_row(out, t, n, v);
	rows = 0;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		if (topts.limit > 0 && rows >= topts.limit)
			continue;
		rows++;
		for (int i = 0; i < n; i++)
			v[i] = cell_text(p, p == s ? t[i].idx : i, nums[i], sizeof(nums[i]));
		print_row(out, t, n, v);
	}
	if (rc != SQLITE_DONE)
		goto out;
	if (more > 0) {
		char note[160];
		snprintf(note, sizeof(note), "\xe2\x80\xa6 %lld more line%s left out (--limit %lld)",
			 more, more == 1 ? "" : "s", topts.limit);
		print_note(out, note);
	}
	{
		char note[512];
		int k = 0, hidden = 0;
		for (int i = 0; i < n; i++)
			if (t[i].hidden && k >= 0 && (size_t)k < sizeof(note))
				k += snprintf(note + k, sizeof(note) - (size_t)k, "%s%s",
					      hidden++ ? ", " : "(hidden: ", t[i].head);
		if (hidden && k >= 0 && (size_t)k < sizeof(note))
			snprintf(note + k, sizeof(note) - (size_t)k, "; --wide shows every column)");
		if (hidden)
			print_note(out, note);
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(rd);
	sqlite3_close(bdb);
	free(v);
	free(nums);
	free_cols(t, n);
	return rc;
}

/* The result columns JSON and CSV print: every one, or the --columns list. */
static int output_columns(sqlite3_stmt *s, int **ret)
{
	int n = sqlite3_column_count(s), *v;

	if (topts.columns)
		return pick_columns(s, topts.columns, ret);
	if (!(v = calloc((size_t)(n ? n : 1), sizeof(*v))))
		return -1;
	for (int i = 0; i < n; i++)
		v[i] = i;
	*ret = v;
	return n;
}

static void left_out(long long more)
{
	if (more > 0)
		fprintf(stderr, "kexwatch: %lld more row%s left out (--limit %lld)\n", more,
			more == 1 ? "" : "s", topts.limit);
}

static int print_json(sqlite3_stmt *s, FILE *out)
{
	long long rows = 0, more = 0;
	int rc, *c, n;

	if ((n = output_columns(s, &c)) < 0)
		return terr_set ? SQLITE_ERROR : SQLITE_NOMEM;
	/* Each member's name escaped once, not once per row. */
	char **keys = calloc((size_t)(n ? n : 1), sizeof(*keys));
	size_t *klen = calloc((size_t)(n ? n : 1), sizeof(*klen));
	for (int i = 0; keys && klen && i < n; i++) {
		const char *name = sqlite3_column_name(s, c[i]);
		FILE *m = open_memstream(&keys[i], &klen[i]);
		if (m) {
			kx_json_fputs(m, name, strlen(name));
			putc(':', m);
			if (fclose(m) != 0) {
				free(keys[i]);
				keys[i] = NULL;
			}
		}
	}
	fputs("[", out);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (topts.limit > 0 && rows >= topts.limit) {
			more++;
			continue;
		}
		fputs(rows++ ? ",\n  {" : "\n  {", out);
		for (int i = 0; i < n; i++) {
			if (i)
				putc(',', out);
			if (keys && klen && keys[i]) {
				fwrite(keys[i], 1, klen[i], out);
			} else {
				const char *name = sqlite3_column_name(s, c[i]);
				kx_json_fputs(out, name, strlen(name));
				putc(':', out);
			}
			kx_json_column(s, c[i], out);
		}
		putc('}', out);
	}
	fputs(rows ? "\n]\n" : "]\n", out);
	for (int i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	free(klen);
	free(c);
	left_out(more);
	return rc;
}

static int print_csv(sqlite3_stmt *s, FILE *out)
{
	long long rows = 0, more = 0;
	int rc, *c, n;

	if ((n = output_columns(s, &c)) < 0)
		return terr_set ? SQLITE_ERROR : SQLITE_NOMEM;
	for (int i = 0; i < n; i++) {
		if (i)
			putc(',', out);
		kx_csv_field(out, sqlite3_column_name(s, c[i]));
	}
	fputs("\r\n", out);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (topts.limit > 0 && rows >= topts.limit) {
			more++;
			continue;
		}
		rows++;
		for (int i = 0; i < n; i++) {
			if (i)
				putc(',', out);
			if (sqlite3_column_type(s, c[i]) == SQLITE_BLOB) {
				const unsigned char *b = sqlite3_column_blob(s, c[i]);
				for (int k = 0; k < sqlite3_column_bytes(s, c[i]); k++)
					fprintf(out, "%02x", b[k]);
				continue;
			}
			const char *v = (const char *)sqlite3_column_text(s, c[i]);
			kx_csv_field(out, v ? v : "");
		}
		fputs("\r\n", out);
	}
	free(c);
	left_out(more);
	return rc;
}

int kx_table_print(sqlite3_stmt *s, enum kx_out_format fmt, const struct kx_col *cols,
		   size_t n_cols, const char *const *drop, FILE *out)
{
	if (fmt == KX_OUT_TABLE)
		return print_table(s, cols, n_cols, drop, out);
	if (fmt == KX_OUT_JSON)
		return print_json(s, out);
	return print_csv(s, out);
}

int kx_rdb_print(sqlite3_stmt *s, enum kx_out_format fmt, const struct kx_col *cols,
		 size_t n_cols, FILE *out)
{
	return kx_table_print(s, fmt, cols, n_cols, NULL, out);
}
