#include "czxing.h"

#include <cstdlib>
#include <cstring>

#if __has_include(<ZXing/ReadBarcode.h>)
#include <ZXing/ReadBarcode.h>

int czx_available(void) { return 1; }

int czx_decode(const unsigned char *pixels, int width, int height, int stride, czx_symbol *out, int max) {
    try {
        ZXing::ImageView image(pixels, width, height, ZXing::ImageFormat::Lum, stride);
        ZXing::DecodeHints hints;
        hints.setFormats(ZXing::BarcodeFormat::QRCode);
        hints.setTryHarder(true);
        hints.setTryRotate(false);
        hints.setTryDownscale(true);
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

int czx_decode(const unsigned char *, int, int, int, czx_symbol *, int) { return 0; }
#endif

void czx_free(czx_symbol *symbols, int count) {
    for (int i = 0; i < count; i++) std::free(symbols[i].bytes);
}
