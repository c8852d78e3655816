#include <zbar.h>
// zbar's video API drives V4L2 but has no call to list formats or set a frame rate; those few
// ioctls come from the kernel's own header.
#include <linux/videodev2.h>

// The request codes are function-like macros, which Swift cannot import.
static const unsigned long AG_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long AG_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long AG_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long AG_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
static const unsigned long AG_VIDIOC_G_PARM = VIDIOC_G_PARM;
static const unsigned long AG_VIDIOC_S_PARM = VIDIOC_S_PARM;
