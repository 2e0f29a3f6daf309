/* A singly linked list: push, reverse, find, length and free. */
#include <stdlib.h>

struct node {
  int value;
  struct node *next;
};

struct node *push_front(struct node *head, int value) {
  struct node *n = malloc(sizeof *n);
  if (!n)
    return head;
  n->value = value;
  n->next = head;
  return n;
}

struct node *reverse(struct node *head) {
  struct node *prev = NULL;
  while (head) {
    struct node *next = head->next;
    head->next = prev;
    prev = head;
    head = next;
  }
  return prev;
}

struct node *find(struct node *head, int value) {
  for (; head; head = head->next)
    if (head->value == value)
      return head;
  return NULL;
}

int length(const struct node *head) {
  int n = 0;
  for (; head; head = head->next)
    ++n;
  return n;
}

void free_list(struct node *head) {
  while (head) {
    struct node *next = head->next;
    free(head);
    head = next;
  }
}
