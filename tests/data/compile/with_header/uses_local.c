#include "local_defs.h"

int scaled(int x) { return LOCAL_SCALE * local_twice(x); }
