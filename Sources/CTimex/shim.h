// adjtimex(2), for the read-only clock-trust check: glibc's <sys/timex.h> is not in Swift's Glibc module.
#include <sys/timex.h>
