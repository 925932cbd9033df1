#include <stdio.h>
int main(void) { puts("resnet-train: under construction"); return 0; }
