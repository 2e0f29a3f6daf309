#ifndef DEMO_VALUE
#error "DEMO_VALUE must be set with -DDEMO_VALUE=..."
#endif

int demo_value(void) { return DEMO_VALUE; }
