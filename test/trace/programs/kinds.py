import os, socket, threading, array, select, signal
a,b = socket.socketpair()
r,w = os.pipe()
d = os.dup(r); os.dup2(w, 50)
e = os.eventfd(0)
ep = select.epoll()
mf = os.memfd_create("x")
l = socket.socket(); l.bind(("127.0.0.1",0)); l.listen()
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
# pass fd
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i",[r]))])
msg, anc, fl, ad = b.recvmsg(1, socket.CMSG_LEN(4))
def t(): x = open("/etc/hostname"); x.close()
th = threading.Thread(target=t); th.start(); th.join()
pid = os.fork()
if pid == 0:
    os.close(c.fileno()); os._exit(0)
os.waitpid(pid,0)
os.closerange(60, 70)
