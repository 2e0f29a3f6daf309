#include <shared_config.h>

int below_limit(int x) { return x < SHARED_LIMIT; }
