#include "czxing.h"

#include <cstdlib>
#include <cstring>

// The package's ZXing trait (on by default) defines AG_ZXING; it needs libzxing-dev.
#if defined(AG_ZXING)
#include <ZXing/ReadBarcode.h>
// 2.x names the version header Version.h (ZXVersion.h remains, deprecated); 1.4 has ZXVersion.h.
#if __has_include(<ZXing/Version.h>)
#include <ZXing/Version.h>
#else
#include <ZXing/ZXVersion.h>
#endif

// zxing-cpp 2.2 renamed DecodeHints to ReaderOptions (Debian 13 has 2.3, Debian 12 1.4); the
// setters the decode chain uses are the same in both.
#if ZXING_VERSION_MAJOR > 2 || (ZXING_VERSION_MAJOR == 2 && ZXING_VERSION_MINOR >= 2)
using ReaderOptions = ZXing::ReaderOptions;
#else
using ReaderOptions = ZXing::DecodeHints;
#endif

#define CZX_STRING(x) #x
#define CZX_VERSION(major, minor, patch) CZX_STRING(major) "." CZX_STRING(minor) "." CZX_STRING(patch)

int czx_available(void) { return 1; }

const char *czx_version(void) {
    return CZX_VERSION(ZXING_VERSION_MAJOR, ZXING_VERSION_MINOR, ZXING_VERSION_PATCH);
}

int czx_decode(const unsigned char *pixels, int width, int height, int stride, czx_symbol *out, int max) {
    try {
        ZXing::ImageView image(pixels, width, height, ZXing::ImageFormat::Lum, stride);
        ReaderOptions hints;
        hints.setFormats(ZXing::BarcodeFormat::QRCode);
        hints.setTryHarder(true);
        hints.setTryRotate(false);
        hints.setTryDownscale(true);
#if ZXING_VERSION_MAJOR >= 2
        // 2.x also tries the inverted image by default; the chain asks for each polarity itself.
        hints.setTryInvert(false);
#endif
        auto results = ZXing::ReadBarcodes(image, hints);
        int count = 0;
        for (const auto &result : results) {
            if (count >= max || !result.isValid()) continue;
            const auto &bytes = result.bytes();
            out[count].length = static_cast<int>(bytes.size());
            out[count].bytes = static_cast<unsigned char *>(std::malloc(bytes.size() ? bytes.size() : 1));
            if (!out[count].bytes) break;
            std::memcpy(out[count].bytes, bytes.data(), bytes.size());
            count++;
        }
        return count;
    } catch (...) {
        return -1;
    }
}
#else
int czx_available(void) { return 0; }

const char *czx_version(void) { return ""; }

int czx_decode(const unsigned char *, int, int, int, czx_symbol *, int) { return 0; }
#endif

void czx_free(czx_symbol *symbols, int count) {
    for (int i = 0; i < count; i++) std::free(symbols[i].bytes);
}
