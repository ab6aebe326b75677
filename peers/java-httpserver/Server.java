// Peer: the JDK's com.sun.net.httpserver.HttpServer with a cached thread pool, defaults otherwise.
// Usage: java peers/java-httpserver/Server.java PORT   (or $PORT; single-file source launch)
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;

public class Server {
    public static void main(String[] args) throws Exception {
        // The pages are found from any directory: the source launcher's command line
        // ("jdk.compiler/...launcher.Main path/to/Server.java PORT") names this file.
        String self = "peers/java-httpserver/Server.java";
        for (String word : System.getProperty("sun.java.command", "").split(" ")) {
            if (word.endsWith("Server.java")) {
                self = word;
            }
        }
        Path fixtures = Path.of(self).toAbsolutePath().getParent().resolve("../../fixtures").normalize();
        byte[] hello = Files.readAllBytes(fixtures.resolve("hello.html"));
        byte[] notFound = Files.readAllBytes(fixtures.resolve("404.html"));
        long sleepMs = (long) (Double.parseDouble(System.getenv().getOrDefault("SLEEP_SECS", "1")) * 1000);
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv("PORT"));

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        // "/" is a prefix context: it gets every path the other contexts do not match.
        server.createContext("/", ex -> {
            boolean get = ex.getRequestMethod().equals("GET") || ex.getRequestMethod().equals("HEAD");
            String path = ex.getRequestURI().getRawPath();
            if (get && path.equals("/")) {
                send(ex, 200, hello);
            } else if (get && path.equals("/sleep")) {
                try {
                    Thread.sleep(sleepMs); // one pool thread per request
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                send(ex, 200, hello);
            } else {
                send(ex, 404, notFound);
            }
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        System.out.println("listening on http://127.0.0.1:" + server.getAddress().getPort());
    }

    static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/html");
        boolean head = ex.getRequestMethod().equals("HEAD");
        // HEAD: -1 means no body; the JDK then sends Content-Length: 0 unless told otherwise.
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }
}
