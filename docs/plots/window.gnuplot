# Throughput vs window of unacknowledged messages: counting (sender and
# receiver on one core, CPU 0) and xcore.throughput (producer on CPU 0,
# consumer on CPU 1). Medians of 5 runs, bars from min to max.
# Data: atoll 7ca4430, AMD EPYC (family 26) 2 vCPUs, kernel 6.18.44, 2026-11-21.
#   taskset -c 0 build/bin/atoll-bench counting -n 10m -w W --cpus 0
#   taskset -c 0,1 build/bin/atoll-bench xcore.throughput -n 10m \
#       --floor-pointers 100m --rounds 1 -w W --cpus 0,1
# Window 0 (no limit) is drawn at x = 4194304, labelled "none".
# Render: cd docs/plots && gnuplot window.gnuplot
set terminal pngcairo size 900,600 font "DejaVu Sans,11"
set output "window.png"
set title "Throughput vs window of unacknowledged messages (median of 5, min-max bars)"
set logscale x 2
set xrange [8:8388608]
set yrange [0:140]
set xtics ("16" 16, "64" 64, "256" 256, "1k" 1024, "4k" 4096, "16k" 16384, \
           "64k\n(default)" 65536, "256k" 262144, "1M" 1048576, "none" 4194304)
set xlabel "window (messages)"
set ylabel "million messages per second"
set grid ytics
set key outside below center maxrows 3 spacing 1.1
# window  counting med min max   xcore med min max
$data << EOD
16        73.6  71.5  75.5    17.4   5.0  18.8
64       101.5  95.9 102.0    42.0  11.6  45.9
256      124.2 116.7 126.8    58.3  13.0  63.8
1024     130.8 122.0 131.3    64.0  14.4  68.3
4096     127.3 121.7 131.8    63.9  14.9  68.7
16384    125.6 122.6 129.8    64.3  14.7  69.7
65536     73.7  72.0  78.4    63.9  15.0  67.3
262144    33.8  31.7  35.1    65.2  14.6  68.2
1048576   20.6  20.2  20.9    66.9  64.8  69.0
4194304   20.1  19.0  20.2    68.1  64.2  70.5
EOD
plot $data using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" \
         title "counting, one core", \
     $data using 1:5:6:7 with yerrorlines lw 2 pt 5 lc rgb "#d62728" \
         title "xcore.throughput, CPU 0 -> CPU 1", \
     54 with lines dt 2 lw 1.5 lc rgb "#1f77b4" title "counting target (3x Erlang's 18M)", \
     17.7 with lines dt 3 lw 1.5 lc rgb "#555555" title "Erlang counting, same session (17.7M)", \
     30 with lines dt 2 lw 1.5 lc rgb "#d62728" title "cross-core target (30M)"
