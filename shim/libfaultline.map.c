/* Preprocessed into the version script of libfaultline.so: export exactly
 * the interposers of symbols.h, nothing else. The version node must stay
 * anonymous: a named node would keep our symbols from interposing the
 * program's versioned references (read@GLIBC_2.2.5). */
#define FL_SYMBOLS_MAP_ONLY
#include "symbols.h"
#define FL__MAP(name, family) name;
{ global: FL_EXPORTS(FL__MAP) local: *; };
