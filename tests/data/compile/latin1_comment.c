/* Commentaire en Latin-1 : été, maïtre, garçon. */
const char *greeting(void) { return "déjà vu"; }
int add(int a, int b) { return a + b; }
