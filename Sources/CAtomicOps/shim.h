#include <atomic_ops.h>
