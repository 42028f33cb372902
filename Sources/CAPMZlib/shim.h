#ifndef CAPM_ZLIB_SHIM_H
#define CAPM_ZLIB_SHIM_H
#include <zlib.h>
#endif
