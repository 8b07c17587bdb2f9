/*
 * schema.h — JSON Schema (draft 2020-12) of profiles and scenarios, built
 * from the loaders' own tables (profile.c, profile_rules.c, market_json.c)
 * so the schema cannot say other than what `faultline validate` accepts.
 *
 * `faultline schema profile|scenario` prints it; schema/profile.schema.json and scenario.schema.json are
 * its output, checked in for editors (tests/integration/test_schema.sh
 * checks they are current). The schema is a helper for editors: what it
 * cannot express (names that refer to targets, lo < hi, a market's
 * consistency checks) only `faultline validate` checks.
 *
 * Invariant: every builder returns a new cJSON tree (NULL on out of
 * memory, which cJSON's add functions tolerate) owned by the caller.
 */
#ifndef FL_SCHEMA_H
#define FL_SCHEMA_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* {"type": "number"} with the loader's [lo, hi] (the range of fl_json_num):
 * DBL_MIN as lo is "positive" (exclusiveMinimum 0), +-DBL_MAX no bound. */
cJSON *fl_sch_num(double lo, double hi);
/* {"type": "integer", "minimum": lo, "maximum": hi} */
cJSON *fl_sch_int(double lo, double hi);
cJSON *fl_sch_type(const char *type);
/* {"type": "string", "maxLength": maxlen} (maxlen 0: no bound) */
cJSON *fl_sch_str(int maxlen);
/* {"enum": [names...]} from a NULL-terminated list */
cJSON *fl_sch_enum(const char *const *names);
/* {"enum": [...]} from a space-separated word list */
cJSON *fl_sch_enum_words(const char *words);
/* {"type": "object", "properties": {}, "additionalProperties": false};
 * returns the object, *props its "properties" */
cJSON *fl_sch_obj(cJSON **props);
/* obj["required"] += key */
void fl_sch_require(cJSON *obj, const char *key);
/* obj["description"] = text */
cJSON *fl_sch_doc(cJSON *obj, const char *text);

/* JSON text, two-space indent, numbers exact (integers in full); malloc'd,
 * NULL on out of memory. */
char *fl_sch_print(const cJSON *v);

/* The schema of a scenario's "market" (market_json.c). */
cJSON *mkt_params__schema(void);
/* One rule (profile_rules.c); `scenario` allows scale and when_signal. */
cJSON *fl__profile_rule_schema(bool scenario);
/* The whole document (profile.c). */
cJSON *fl_profile_schema(bool scenario);

#endif /* FL_SCHEMA_H */
