#ifndef CZXING_H
#define CZXING_H
// A small C interface to zxing-cpp (Debian's libzxing-dev), the optional second QR decoder.
// Without libzxing-dev the target still builds, and czx_available() returns 0.
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    unsigned char *bytes;
    int length;
} czx_symbol;

/// 1 when zxing-cpp was found at build time.
int czx_available(void);

/// The zxing-cpp version built against ("1.4.0", "2.3.0"); empty without zxing-cpp.
const char *czx_version(void);

/// Decodes the QR codes in an 8-bit greyscale image (rows of `stride` bytes). Fills up to `max`
/// symbols with copies of their payload bytes and returns how many; -1 on an internal error.
/// Free the payloads with czx_free.
int czx_decode(const unsigned char *pixels, int width, int height, int stride, czx_symbol *out, int max);

void czx_free(czx_symbol *symbols, int count);

#ifdef __cplusplus
}
#endif
#endif
