// vivid-show: shows one greyscale frame on a V4L2 output (vivid's loopback "HDMI out") until killed,
// so the capture side sees it: the hardware stage's camera in front of a phone.
//
//   vivid-show /dev/videoN WIDTH HEIGHT FRAME.y800 [GREY|YUYV]
//
// YUYV shows the same picture as packed 4:2:2 with neutral chroma, for the capture side's
// conversion.
//
// vivid's write() emulation does not work for output on Linux 6.1, so the frame goes through one
// mmap streaming buffer; vivid keeps showing the last queued buffer while the stream stays on.
// Prints "showing" once the stream is on; exits 1 with the failing call on an error.
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do r = ioctl(fd, request, arg);
    while (r == -1 && errno == EINTR);
    return r;
}

static int fail(const char *what) {
    fprintf(stderr, "vivid-show: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: vivid-show /dev/videoN WIDTH HEIGHT FRAME.y800 [GREY|YUYV]\n");
        return 2;
    }
    int yuyv = argc == 6 && strcmp(argv[5], "YUYV") == 0;
    unsigned width = (unsigned)atoi(argv[2]), height = (unsigned)atoi(argv[3]);
    size_t size = (size_t)width * height;
    unsigned char *frame = malloc(size);
    FILE *in = fopen(argv[4], "rb");
    if (!frame || !in || fread(frame, 1, size, in) != size) return fail("reading the frame");
    fclose(in);

    int fd = open(argv[1], O_RDWR);
    if (fd < 0) return fail("open");
    struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
    fmt.fmt.pix.width = width;
    fmt.fmt.pix.height = height;
    fmt.fmt.pix.pixelformat = yuyv ? V4L2_PIX_FMT_YUYV : V4L2_PIX_FMT_GREY;
    fmt.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(fd, VIDIOC_S_FMT, &fmt) < 0) return fail("VIDIOC_S_FMT");
    if (fmt.fmt.pix.width != width || fmt.fmt.pix.height != height || fmt.fmt.pix.bytesperline != width * (yuyv ? 2 : 1)) {
        errno = EINVAL;
        return fail("the output will not take this size and format");
    }
    struct v4l2_requestbuffers req = {.count = 1, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
    if (xioctl(fd, VIDIOC_REQBUFS, &req) < 0 || req.count < 1) return fail("VIDIOC_REQBUFS");
    struct v4l2_buffer buf = {.index = 0, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
    if (xioctl(fd, VIDIOC_QUERYBUF, &buf) < 0) return fail("VIDIOC_QUERYBUF");
    unsigned char *map = mmap(NULL, buf.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, buf.m.offset);
    if (map == MAP_FAILED) return fail("mmap");
    if (yuyv) {
        // Y0 U Y1 V: every pixel's luma, chroma 128 (no colour).
        for (size_t i = 0; i < size; i++) {
            map[2 * i] = frame[i];
            map[2 * i + 1] = 128;
        }
    } else {
        memcpy(map, frame, size);
    }
    buf.bytesused = fmt.fmt.pix.sizeimage;
    if (xioctl(fd, VIDIOC_QBUF, &buf) < 0) return fail("VIDIOC_QBUF");
    int type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    if (xioctl(fd, VIDIOC_STREAMON, &type) < 0) return fail("VIDIOC_STREAMON");
    printf("showing\n");
    fflush(stdout);
    // The stream stays on, and the frame on screen, until the test kills us.
    for (;;) pause();
}
