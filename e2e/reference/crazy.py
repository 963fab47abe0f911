# The seed's "crazy example", ported to Python 3 as the reference rig ran it: bytes yields, names that
# resolve from /etc/hosts, and a 64-character .invalid name that the idna codec rejects before any
# syscall (so no DNS packet ever leaves the machine).
import gevent
import gevent.socket

BAD_NAME = "x" * 64 + ".invalid"
NAMES = ["localhost", "runsc", "vm", BAD_NAME]


def bg_task():
    for i in range(1, 10):
        print("background task", i)
        gevent.sleep(2)


def long_task():
    for i in range(1, 10):
        print(i)
        gevent.sleep()


def application(e, sr):
    sr('200 OK', [('Content-Type', 'text/html')])
    t = gevent.spawn(long_task)
    t.join()
    yield b"sleeping for 3 seconds...\n"
    gevent.sleep(3)
    yield b"done\n"
    yield b"getting some ips...\n"
    jobs = [gevent.spawn(gevent.socket.gethostbyname, name) for name in NAMES]
    gevent.joinall(jobs, timeout=2)
    for j in jobs:
        yield ("ip = %s\n" % j.value).encode()
    gevent.spawn(bg_task)  # this task will go on after the request ends
