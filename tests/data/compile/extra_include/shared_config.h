/* Header in a separate folder: found only when that folder is on the include path. */
#define SHARED_LIMIT 64
