// libgpiod v1 and v2 behind ag_gpio.h. The API is chosen here, from the installed <gpiod.h>:
// v1's header defines GPIOD_LINE_BULK_MAX_LINES, v2's (which replaced every gpiod_line_* call)
// does not. Chip lookup and enumeration are shared so that both behave alike.
#define _GNU_SOURCE
#include "ag_gpio.h"

#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>

#if defined(GPIOD_LINE_BULK_MAX_LINES)
#define AG_GPIOD_API 1
#else
#define AG_GPIOD_API 2
#endif

int ag_gpio_api(void) { return AG_GPIOD_API; }

static void copy_string(char *to, size_t size, const char *from) {
    snprintf(to, size, "%s", from ? from : "");
}

static int compare_unsigned(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int ag_gpio_chip_numbers(unsigned *numbers, int max) {
    DIR *dev = opendir("/dev");
    if (!dev) return -1;
    unsigned found[256];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dev)) && count < 256) {
        unsigned number;
        char rest;
        if (sscanf(entry->d_name, "gpiochip%u%c", &number, &rest) != 1) continue;
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/dev/gpiochip%u", number);
        // A GPIO chip is a character device; anything else with the name is not one.
        if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) found[count++] = number;
    }
    closedir(dev);
    qsort(found, (size_t)count, sizeof found[0], compare_unsigned);
    for (int i = 0; i < count && i < max; i++) numbers[i] = found[i];
    return count;
}

struct ag_gpio_chip {
    struct gpiod_chip *chip;
    char name[64];
    char label[64];
    unsigned num_lines;
};

struct ag_gpio_line {
#if AG_GPIOD_API == 1
    struct gpiod_line *line;
#else
    struct gpiod_line_request *request;
    struct gpiod_edge_event_buffer *events;
    unsigned offset;
#endif
    uint32_t debounce_us;
};

ag_gpio_chip *ag_gpio_chip_lookup(const char *spec) {
    char path[PATH_MAX];
    char *end;
    unsigned long number = strtoul(spec, &end, 10);
    if (*spec && *end == '\0') {
        snprintf(path, sizeof path, "/dev/gpiochip%lu", number);
        return ag_gpio_chip_open(path);
    }
    if (strncmp(spec, "gpiochip", 8) == 0) {
        snprintf(path, sizeof path, "/dev/%s", spec);
        return ag_gpio_chip_open(path);
    }
    if (spec[0] == '/') return ag_gpio_chip_open(spec);
    unsigned numbers[256];
    int count = ag_gpio_chip_numbers(numbers, 256);
    for (int i = 0; i < count && i < 256; i++) {
        snprintf(path, sizeof path, "/dev/gpiochip%u", numbers[i]);
        ag_gpio_chip *chip = ag_gpio_chip_open(path);
        if (!chip) continue;
        if (strcmp(chip->label, spec) == 0) return chip;
        ag_gpio_chip_close(chip);
    }
    errno = ENOENT;
    return NULL;
}

// Takes ownership of an open chip handle; closes it when out of memory.
static ag_gpio_chip *wrap_chip(struct gpiod_chip *handle, const char *name, const char *label, unsigned lines) {
    ag_gpio_chip *chip = calloc(1, sizeof *chip);
    if (!chip) {
        gpiod_chip_close(handle);
        errno = ENOMEM;
        return NULL;
    }
    chip->chip = handle;
    copy_string(chip->name, sizeof chip->name, name);
    copy_string(chip->label, sizeof chip->label, label);
    chip->num_lines = lines;
    return chip;
}

void ag_gpio_chip_close(ag_gpio_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

const char *ag_gpio_chip_name(const ag_gpio_chip *chip) { return chip->name; }
const char *ag_gpio_chip_label(const ag_gpio_chip *chip) { return chip->label; }
unsigned ag_gpio_chip_num_lines(const ag_gpio_chip *chip) { return chip->num_lines; }

#if AG_GPIOD_API == 1
// ---- libgpiod v1 (1.6) ----

static int to_value(int value) { return value ? 1 : 0; }

const char *ag_gpio_library_version(void) { return gpiod_version_string(); }

ag_gpio_chip *ag_gpio_chip_open(const char *path) {
    struct gpiod_chip *handle = gpiod_chip_open(path);
    if (!handle) return NULL;
    return wrap_chip(handle, gpiod_chip_name(handle), gpiod_chip_label(handle), gpiod_chip_num_lines(handle));
}

int ag_gpio_chip_find_line(ag_gpio_chip *chip, const char *name) {
    struct gpiod_line *line = gpiod_chip_find_line(chip->chip, name);
    if (!line) {
        if (errno == 0) errno = ENOENT;
        return -1;
    }
    return (int)gpiod_line_offset(line);
}

int ag_gpio_chip_line_info(ag_gpio_chip *chip, unsigned offset, ag_gpio_line_info *info) {
    struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offset);
    if (!line) return -1;
    // A line this process requested keeps its cached info; others are re-read from the kernel.
    if (!gpiod_line_is_requested(line) && gpiod_line_update(line) < 0) return -1;
    memset(info, 0, sizeof *info);
    info->has_name = gpiod_line_name(line) != NULL;
    info->has_consumer = gpiod_line_consumer(line) != NULL;
    copy_string(info->name, sizeof info->name, gpiod_line_name(line));
    copy_string(info->consumer, sizeof info->consumer, gpiod_line_consumer(line));
    info->used = gpiod_line_is_used(line);
    info->output = gpiod_line_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT;
    info->active_low = gpiod_line_active_state(line) == GPIOD_LINE_ACTIVE_STATE_LOW;
    return 0;
}

ag_gpio_line *ag_gpio_line_request(ag_gpio_chip *chip, unsigned offset, const char *consumer,
                                   const ag_gpio_line_settings *settings) {
    struct gpiod_line *handle = gpiod_chip_get_line(chip->chip, offset);
    if (!handle) return NULL;
    int flags = settings->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
    switch (settings->bias) {
    case AG_GPIO_BIAS_PULL_UP: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
    case AG_GPIO_BIAS_PULL_DOWN: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
    case AG_GPIO_BIAS_DISABLED: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
    default: break;
    }
    int result = settings->output
        ? gpiod_line_request_output_flags(handle, consumer, flags, to_value(settings->initial_value))
        : gpiod_line_request_both_edges_events_flags(handle, consumer, flags);
    if (result != 0) return NULL;
    ag_gpio_line *line = calloc(1, sizeof *line);
    if (!line) {
        gpiod_line_release(handle);
        errno = ENOMEM;
        return NULL;
    }
    line->line = handle;
    return line;
}

void ag_gpio_line_release(ag_gpio_line *line) {
    if (!line) return;
    gpiod_line_release(line->line);
    free(line);
}

int ag_gpio_line_set(ag_gpio_line *line, int value) { return gpiod_line_set_value(line->line, to_value(value)); }
int ag_gpio_line_get(ag_gpio_line *line) { return gpiod_line_get_value(line->line); }
int ag_gpio_line_fd(ag_gpio_line *line) { return gpiod_line_event_get_fd(line->line); }

int ag_gpio_line_read_edges(ag_gpio_line *line, ag_gpio_edge *edges, int max) {
    struct gpiod_line_event events[16];
    int count = gpiod_line_event_read_multiple(line->line, events, max < 16 ? max : 16);
    for (int i = 0; i < count; i++) {
        edges[i].timestamp_ns = (uint64_t)events[i].ts.tv_sec * 1000000000u + (uint64_t)events[i].ts.tv_nsec;
        edges[i].rising = events[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    }
    return count;
}

#else
// ---- libgpiod v2 (2.x) ----

const char *ag_gpio_library_version(void) { return gpiod_api_version(); }

ag_gpio_chip *ag_gpio_chip_open(const char *path) {
    struct gpiod_chip *handle = gpiod_chip_open(path);
    if (!handle) return NULL;
    struct gpiod_chip_info *info = gpiod_chip_get_info(handle);
    if (!info) {
        int saved = errno;
        gpiod_chip_close(handle);
        errno = saved;
        return NULL;
    }
    ag_gpio_chip *chip = wrap_chip(handle, gpiod_chip_info_get_name(info), gpiod_chip_info_get_label(info),
                                   (unsigned)gpiod_chip_info_get_num_lines(info));
    gpiod_chip_info_free(info);
    return chip;
}

int ag_gpio_chip_find_line(ag_gpio_chip *chip, const char *name) {
    int offset = gpiod_chip_get_line_offset_from_name(chip->chip, name);
    if (offset < 0 && errno == 0) errno = ENOENT;
    return offset;
}

int ag_gpio_chip_line_info(ag_gpio_chip *chip, unsigned offset, ag_gpio_line_info *info) {
    struct gpiod_line_info *line = gpiod_chip_get_line_info(chip->chip, offset);
    if (!line) return -1;
    memset(info, 0, sizeof *info);
    const char *name = gpiod_line_info_get_name(line);
    const char *consumer = gpiod_line_info_get_consumer(line);
    info->has_name = name != NULL;
    info->has_consumer = consumer != NULL;
    copy_string(info->name, sizeof info->name, name);
    copy_string(info->consumer, sizeof info->consumer, consumer);
    info->used = gpiod_line_info_is_used(line);
    info->output = gpiod_line_info_get_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT;
    info->active_low = gpiod_line_info_is_active_low(line);
    info->debounce_us = (uint32_t)gpiod_line_info_get_debounce_period_us(line);
    gpiod_line_info_free(line);
    return 0;
}

ag_gpio_line *ag_gpio_line_request(ag_gpio_chip *chip, unsigned offset, const char *consumer,
                                   const ag_gpio_line_settings *settings) {
    struct gpiod_line_settings *line_settings = gpiod_line_settings_new();
    struct gpiod_line_config *line_config = gpiod_line_config_new();
    struct gpiod_request_config *request_config = gpiod_request_config_new();
    struct gpiod_edge_event_buffer *events = gpiod_edge_event_buffer_new(16);
    struct gpiod_line_request *request = NULL;
    ag_gpio_line *line = NULL;
    int saved = 0;
    if (!line_settings || !line_config || !request_config || !events) {
        saved = ENOMEM;
        goto done;
    }
    gpiod_line_settings_set_active_low(line_settings, settings->active_low);
    enum gpiod_line_bias bias = GPIOD_LINE_BIAS_AS_IS;
    switch (settings->bias) {
    case AG_GPIO_BIAS_PULL_UP: bias = GPIOD_LINE_BIAS_PULL_UP; break;
    case AG_GPIO_BIAS_PULL_DOWN: bias = GPIOD_LINE_BIAS_PULL_DOWN; break;
    case AG_GPIO_BIAS_DISABLED: bias = GPIOD_LINE_BIAS_DISABLED; break;
    default: break;
    }
    gpiod_line_settings_set_bias(line_settings, bias);
    if (settings->output) {
        gpiod_line_settings_set_direction(line_settings, GPIOD_LINE_DIRECTION_OUTPUT);
        gpiod_line_settings_set_output_value(
            line_settings, settings->initial_value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
    } else {
        gpiod_line_settings_set_direction(line_settings, GPIOD_LINE_DIRECTION_INPUT);
        gpiod_line_settings_set_edge_detection(line_settings, GPIOD_LINE_EDGE_BOTH);
        gpiod_line_settings_set_debounce_period_us(line_settings, settings->debounce_us);
    }
    if (gpiod_line_config_add_line_settings(line_config, &offset, 1, line_settings) < 0) {
        saved = errno;
        goto done;
    }
    gpiod_request_config_set_consumer(request_config, consumer);
    request = gpiod_chip_request_lines(chip->chip, request_config, line_config);
    if (!request) {
        saved = errno;
        goto done;
    }
    line = calloc(1, sizeof *line);
    if (!line) {
        saved = ENOMEM;
        gpiod_line_request_release(request);
        goto done;
    }
    line->request = request;
    line->events = events;
    line->offset = offset;
    events = NULL;
    // What the kernel applied, not what was asked: a v2 uAPI kernel debounces in software where
    // the chip cannot.
    if (!settings->output && settings->debounce_us > 0) {
        struct gpiod_line_info *info = gpiod_chip_get_line_info(chip->chip, offset);
        if (info) {
            line->debounce_us = (uint32_t)gpiod_line_info_get_debounce_period_us(info);
            gpiod_line_info_free(info);
        }
    }
done:
    gpiod_edge_event_buffer_free(events);
    gpiod_request_config_free(request_config);
    gpiod_line_config_free(line_config);
    gpiod_line_settings_free(line_settings);
    if (!line) errno = saved;
    return line;
}

void ag_gpio_line_release(ag_gpio_line *line) {
    if (!line) return;
    gpiod_line_request_release(line->request);
    gpiod_edge_event_buffer_free(line->events);
    free(line);
}

int ag_gpio_line_set(ag_gpio_line *line, int value) {
    return gpiod_line_request_set_value(
        line->request, line->offset, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
}

int ag_gpio_line_get(ag_gpio_line *line) {
    enum gpiod_line_value value = gpiod_line_request_get_value(line->request, line->offset);
    return value == GPIOD_LINE_VALUE_ERROR ? -1 : value == GPIOD_LINE_VALUE_ACTIVE;
}

int ag_gpio_line_fd(ag_gpio_line *line) { return gpiod_line_request_get_fd(line->request); }

int ag_gpio_line_read_edges(ag_gpio_line *line, ag_gpio_edge *edges, int max) {
    int count = gpiod_line_request_read_edge_events(line->request, line->events, (size_t)(max < 16 ? max : 16));
    for (int i = 0; i < count; i++) {
        struct gpiod_edge_event *event = gpiod_edge_event_buffer_get_event(line->events, (unsigned long)i);
        edges[i].timestamp_ns = gpiod_edge_event_get_timestamp_ns(event);
        edges[i].rising = gpiod_edge_event_get_event_type(event) == GPIOD_EDGE_EVENT_RISING_EDGE;
    }
    return count;
}

#endif

uint32_t ag_gpio_line_kernel_debounce_us(const ag_gpio_line *line) { return line->debounce_us; }
