#!/usr/bin/env escript
%%! +P 8000000
%% spawn.erl - the Erlang peer of atoll-bench spawn: one process spawns N idle
%% processes and reports processes per second and bytes per idle process
%% (erlang:memory(processes) before and after, and the VM's RSS).
%%
%% Usage: escript spawn.erl [-n PROCESSES] [-s SCHEDULERS]
%% Prints one line on stdout, in atoll-bench's format:
%%   RESULT peer.erlang.spawn actors_per_sec=... bytes_per_actor=... ...

-mode(compile).

main(Args) ->
    #{n := N, s := S} = parse(Args, #{n => 1000000, s => 1}),
    erlang:system_flag(schedulers_online, min(S, erlang:system_info(schedulers))),
    Self = self(),
    spawn_opt(fun() -> spawner(Self, N) end, [link]),
    receive
        {done, Ns, Bytes, Rss} ->
            Secs = Ns / 1.0e9,
            io:format("RESULT peer.erlang.spawn actors_per_sec=~b ns_per_actor=~.1f "
                      "bytes_per_actor=~.1f rss_bytes_per_actor=~.1f actors=~b "
                      "schedulers=~b seconds=~.3f otp=~s~n",
                      [round(N / Secs), Ns / N, Bytes / N, Rss / N, N, S, Secs,
                       erlang:system_info(otp_release)]),
            halt(0)
    after 120000 ->
        io:format(standard_error, "peer.erlang.spawn: timed out~n", []),
        halt(1)
    end.

spawner(Parent, N) ->
    garbage_collect(),
    M0 = erlang:memory(processes),
    R0 = rss(),
    T0 = erlang:monotonic_time(nanosecond),
    Pids = spawn_idle(N, []),
    T1 = erlang:monotonic_time(nanosecond),
    M1 = erlang:memory(processes),
    R1 = rss(),
    Parent ! {done, T1 - T0, M1 - M0, R1 - R0},
    %% Keep the list (and so the processes' pids) alive until the VM halts.
    receive never -> Pids end.

spawn_idle(0, Acc) ->
    Acc;
spawn_idle(K, Acc) ->
    spawn_idle(K - 1, [spawn(fun idle/0) | Acc]).

idle() ->
    receive stop -> ok end.

%% Resident set size of the VM in bytes, from /proc/self/statm.
rss() ->
    {ok, Bin} = file:read_file("/proc/self/statm"),
    [_, Resident | _] = string:split(binary_to_list(Bin), " ", all),
    list_to_integer(Resident) * 4096.

parse([], Opts) ->
    Opts;
parse(["-n", V | Rest], Opts) ->
    parse(Rest, Opts#{n => number(V)});
parse(["-s", V | Rest], Opts) ->
    parse(Rest, Opts#{s => number(V)});
parse([Other | _], _) ->
    io:format(standard_error,
              "peer.erlang.spawn: unknown argument '~s' "
              "(usage: spawn.erl [-n PROCESSES] [-s SCHEDULERS])~n", [Other]),
    halt(2).

number(V) ->
    try list_to_integer(V) of
        N when N > 0 -> N;
        _ -> bad(V)
    catch
        error:badarg -> bad(V)
    end.

bad(V) ->
    io:format(standard_error, "peer.erlang.spawn: bad number '~s'~n", [V]),
    halt(2).
