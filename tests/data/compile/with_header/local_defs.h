/* Header next to the file that includes it: found through the file's own folder. */
#define LOCAL_SCALE 3
static inline int local_twice(int x) { return 2 * x; }
