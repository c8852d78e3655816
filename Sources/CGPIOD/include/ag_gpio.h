// One small GPIO API over libgpiod v1 (1.6: Debian 12, Raspberry Pi OS Bookworm) and v2 (2.x:
// Debian 13, Raspberry Pi OS Trixie, Ubuntu 24.04). ag_gpio.c picks the API from the installed
// <gpiod.h> at build time, so DoorDriver is the same Swift on either system.
//
// Every function that fails returns NULL or -1 with errno set, as libgpiod does.
#ifndef AG_GPIO_H
#define AG_GPIO_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ag_gpio_chip ag_gpio_chip;
typedef struct ag_gpio_line ag_gpio_line;

/// The libgpiod API this build was compiled against: 1 or 2.
int ag_gpio_api(void);
/// The libgpiod version actually loaded, e.g. "1.6.3" or "2.2.1".
const char *ag_gpio_library_version(void);

/// The numbers N of the /dev/gpiochipN character devices, ascending; returns how many there are
/// (at most `max` are written).
int ag_gpio_chip_numbers(unsigned *numbers, int max);

/// Opens a chip by path (/dev/gpiochipN).
ag_gpio_chip *ag_gpio_chip_open(const char *path);
/// Opens a chip by number ("0"), name ("gpiochip0"), path ("/dev/gpiochip0") or label
/// ("pinctrl-rp1"), in that order, as libgpiod v1's gpiod_chip_open_lookup did. ENOENT: no match.
ag_gpio_chip *ag_gpio_chip_lookup(const char *spec);
void ag_gpio_chip_close(ag_gpio_chip *chip);
const char *ag_gpio_chip_name(const ag_gpio_chip *chip);
const char *ag_gpio_chip_label(const ag_gpio_chip *chip);
unsigned ag_gpio_chip_num_lines(const ag_gpio_chip *chip);
/// The offset of the line called `name`, or -1 (ENOENT).
int ag_gpio_chip_find_line(ag_gpio_chip *chip, const char *name);

/// A line as the kernel reports it now.
typedef struct {
    char name[64];
    char consumer[64];
    bool has_name;
    bool has_consumer;
    bool used;
    bool output;
    bool active_low;
    /// The kernel's debounce period in force, in microseconds (always 0 through the v1 API).
    uint32_t debounce_us;
} ag_gpio_line_info;

int ag_gpio_chip_line_info(ag_gpio_chip *chip, unsigned offset, ag_gpio_line_info *info);

enum { AG_GPIO_BIAS_AS_IS = 0, AG_GPIO_BIAS_PULL_UP, AG_GPIO_BIAS_PULL_DOWN, AG_GPIO_BIAS_DISABLED };

typedef struct {
    bool output;
    bool active_low;
    int bias;
    /// Outputs: the logical value the line takes as it is requested.
    int initial_value;
    /// Inputs: the kernel debounce period to ask for (v2 only; the v1 API has none).
    uint32_t debounce_us;
} ag_gpio_line_settings;

/// Requests one line: an output at its initial value, or an input reporting both edges.
/// EBUSY: another consumer holds it.
ag_gpio_line *ag_gpio_line_request(ag_gpio_chip *chip, unsigned offset, const char *consumer,
                                   const ag_gpio_line_settings *settings);
void ag_gpio_line_release(ag_gpio_line *line);
int ag_gpio_line_set(ag_gpio_line *line, int value);
/// The logical value (active-low applied by the kernel): 0 or 1, or -1.
int ag_gpio_line_get(ag_gpio_line *line);
/// The descriptor that polls readable when edge events are waiting.
int ag_gpio_line_fd(ag_gpio_line *line);
/// The debounce period the kernel applies to this line's edges, in microseconds; 0 when none.
uint32_t ag_gpio_line_kernel_debounce_us(const ag_gpio_line *line);

/// One edge event; the timestamp is the kernel's (CLOCK_MONOTONIC on Linux 5.7 and later).
typedef struct {
    uint64_t timestamp_ns;
    bool rising;
} ag_gpio_edge;

/// Reads up to `max` waiting edge events (blocks if none are waiting); returns how many, or -1.
int ag_gpio_line_read_edges(ag_gpio_line *line, ag_gpio_edge *edges, int max);

#endif
