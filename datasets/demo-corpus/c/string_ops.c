/* String routines: length, in-place reverse, palindrome test, word count, to-upper. */
#include <ctype.h>
#include <stddef.h>

size_t my_strlen(const char *s) {
  const char *p = s;
  while (*p)
    ++p;
  return (size_t)(p - s);
}

void reverse_string(char *s) {
  size_t n = my_strlen(s);
  for (size_t i = 0; i < n / 2; ++i) {
    char t = s[i];
    s[i] = s[n - 1 - i];
    s[n - 1 - i] = t;
  }
}

int is_palindrome(const char *s) {
  size_t n = my_strlen(s);
  for (size_t i = 0; i < n / 2; ++i)
    if (tolower((unsigned char)s[i]) != tolower((unsigned char)s[n - 1 - i]))
      return 0;
  return 1;
}

int word_count(const char *s) {
  int words = 0, in_word = 0;
  for (; *s; ++s) {
    if (isspace((unsigned char)*s))
      in_word = 0;
    else if (!in_word) {
      in_word = 1;
      ++words;
    }
  }
  return words;
}

void to_upper(char *s) {
  for (; *s; ++s)
    *s = (char)toupper((unsigned char)*s);
}
