/*
 * schema.c — small builders for the JSON Schema of profiles and scenarios
 * (schema.h). The loaders build their parts from their own tables.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

cJSON *fl_sch_type(const char *type)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	return o;
}

static void bounds(cJSON *o, double lo, double hi)
{
	if (lo == DBL_MIN)
		cJSON_AddNumberToObject(o, "exclusiveMinimum", 0);
	else if (lo > -DBL_MAX)
		cJSON_AddNumberToObject(o, "minimum", lo);
	if (hi < DBL_MAX)
		cJSON_AddNumberToObject(o, "maximum", hi);
}

cJSON *fl_sch_num(double lo, double hi)
{
	cJSON *o = fl_sch_type("number");

	bounds(o, lo, hi);
	return o;
}

cJSON *fl_sch_int(double lo, double hi)
{
	cJSON *o = fl_sch_type("integer");

	bounds(o, lo, hi);
	return o;
}

cJSON *fl_sch_str(int maxlen)
{
	cJSON *o = fl_sch_type("string");

	if (maxlen > 0)
		cJSON_AddNumberToObject(o, "maxLength", maxlen);
	return o;
}

cJSON *fl_sch_enum(const char *const *names)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "enum");

	for (; *names; names++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*names));
	return o;
}

cJSON *fl_sch_enum_words(const char *w)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "enum");
	char word[64];

	while (*w) {
		size_t n = strcspn(w, " ");

		if (n && n < sizeof(word)) {
			memcpy(word, w, n);
			word[n] = '\0';
			cJSON_AddItemToArray(a, cJSON_CreateString(word));
		}
		w += n;
		w += strspn(w, " ");
	}
	return o;
}

cJSON *fl_sch_obj(cJSON **props)
{
	cJSON *o = fl_sch_type("object");

	*props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddFalseToObject(o, "additionalProperties");
	return o;
}

void fl_sch_require(cJSON *obj, const char *key)
{
	cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "required");

	if (!r)
		r = cJSON_AddArrayToObject(obj, "required");
	cJSON_AddItemToArray(r, cJSON_CreateString(key));
}

cJSON *fl_sch_doc(cJSON *obj, const char *text)
{
	cJSON_AddStringToObject(obj, "description", text);
	return obj;
}

/* ---- printing: two-space indent, exact numbers ---------------------------------- */

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_num(FILE *f, double d)
{
	char buf[32];

	if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
		fprintf(f, "%.0f", d);
		return;
	}
	/* the shortest of %.15g..%.17g that reads back exactly */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, f);
}

static bool is_scalar_array(const cJSON *v)
{
	for (const cJSON *c = v->child; c; c = c->next)
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			return false;
	return true;
}

static void put(FILE *f, const cJSON *v, int depth)
{
	bool obj = cJSON_IsObject(v);

	if (cJSON_IsString(v)) {
		put_str(f, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		put_num(f, v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		fputs(cJSON_IsTrue(v) ? "true" : "false", f);
	} else if (!obj && !cJSON_IsArray(v)) {
		fputs("null", f);
	} else if (!v->child) {
		fputs(obj ? "{}" : "[]", f);
	} else if (!obj && is_scalar_array(v)) {
		fputc('[', f);
		for (const cJSON *c = v->child; c; c = c->next) {
			put(f, c, depth + 1);
			fputs(c->next ? ", " : "]", f);
		}
	} else {
		fputc(obj ? '{' : '[', f);
		for (const cJSON *c = v->child; c; c = c->next) {
			fprintf(f, "\n%*s", 2 * (depth + 1), "");
			if (obj) {
				put_str(f, c->string);
				fputs(": ", f);
			}
			put(f, c, depth + 1);
			if (c->next)
				fputc(',', f);
		}
		fprintf(f, "\n%*s%c", 2 * depth, "", obj ? '}' : ']');
	}
}

char *fl_sch_print(const cJSON *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	put(f, v, 0);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
