#!/bin/busybox sh
# PID 1 of the hardware-test VM: mounts, loads configfs and gpio-sim, creates the simulated door
# board, loads vivid as a looped camera, runs door-hwtest and powers off. Its output goes to the
# serial console.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
insmod /lib/modules/configfs.ko
mount -t configfs none /sys/kernel/config
insmod /lib/modules/gpio-sim.ko
C=/sys/kernel/config/gpio-sim/door
mkdir $C $C/bank0
echo 16 > $C/bank0/num_lines
echo door-sim > $C/bank0/label
n=0
for name in relay-a dps-a rex-a tamper-a relay-b dps-b rex-b fire green-a red-a buzzer-a spare; do
    mkdir $C/bank0/line$n
    echo $name > $C/bank0/line$n/name
    n=$((n + 1))
done
echo 1 > $C/live
# vivid: one HDMI input (/dev/video0) that shows what its one HDMI output (/dev/video1) is given.
for module in /lib/modules/video/*.ko; do
    case $module in
    *vivid.ko) insmod $module n_devs=1 node_types=0x101 num_inputs=1 input_types=0x3 num_outputs=1 output_types=0x1 ;;
    *) insmod $module ;;
    esac
done
echo "HWTEST-BEGIN"
/door-hwtest
echo "HWTEST-EXIT $?"
poweroff -f
