package io.kafkalite.assignors;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.coordinator.group.api.assignor.GroupAssignment;
import org.apache.kafka.coordinator.group.api.assignor.MemberAssignment;
import org.apache.kafka.coordinator.group.api.assignor.PartitionAssignor;
import org.apache.kafka.coordinator.group.api.assignor.SubscribedTopicDescriber;
import org.apache.kafka.coordinator.group.api.assignor.SubscriptionType;
import org.apache.kafka.coordinator.group.assignor.RangeAssignor;
import org.apache.kafka.coordinator.group.assignor.SimpleAssignor;
import org.apache.kafka.coordinator.group.assignor.UniformAssignor;
import org.apache.kafka.coordinator.group.modern.Assignment;
import org.apache.kafka.coordinator.group.modern.GroupSpecImpl;
import org.apache.kafka.coordinator.group.modern.MemberSubscriptionAndAssignmentImpl;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Reads cases on stdin, one line each, and answers one line each (same order).
 *
 * <pre>
 * ASSIGN name assignor homogeneous|heterogeneous topics members
 *   topics  = uuid:partitions,...            ("-" for none)
 *   members = id/instance/subscribed/assignment|...  (instance "-" for none;
 *             subscribed = uuid+uuid ("-" none); assignment = uuid=0.1.2+uuid=3 ("-" none))
 * -> name memberId=uuid:0.1.2+uuid:3|memberId=...   (members and topics sorted; or "name ERROR message")
 * RECONCILE name ... (see Reconcile)
 * REGEX name hex(pattern) hex(name),hex(name)...
 * -> name OK 1.0.1   or   name ERR description
 * </pre>
 * Member order is kept (LinkedHashMap), since Kafka's builders walk members in GroupSpec order;
 * a member's current partitions are handed over in ascending order.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            String[] f = line.split(" ", -1);
            if (f[0].equals("ASSIGN")) {
                out.println(f[1] + " " + assign(f));
            } else if (f[0].equals("RECONCILE")) {
                out.println(f[1] + " " + Reconcile.run(f));
            } else if (f[0].equals("REGEX")) {
                out.println(f[1] + " " + regex(f));
            } else {
                out.println("? unknown " + f[0]);
            }
        }
    }

    private static String regex(String[] f) {
        String pattern = unhex(f[2]);
        try {
            Pattern p = Pattern.compile(pattern);
            StringBuilder sb = new StringBuilder("OK ");
            if (f.length > 3 && !f[3].isEmpty()) {
                List<String> bits = new ArrayList<>();
                for (String n : f[3].split(",")) bits.add(p.matches(unhex(n)) ? "1" : "0");
                sb.append(String.join(".", bits));
            }
            return sb.toString().trim();
        } catch (PatternSyntaxException e) {
            return "ERR " + e.getDescription();
        }
    }

    private static String unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String assign(String[] f) {
        String assignorName = f[2];
        SubscriptionType type = f[3].equals("homogeneous") ? SubscriptionType.HOMOGENEOUS : SubscriptionType.HETEROGENEOUS;
        Map<Uuid, Integer> partitions = new HashMap<>();
        if (!f[4].equals("-")) {
            for (String t : f[4].split(",")) {
                String[] kv = t.split(":");
                partitions.put(Uuid.fromString(kv[0]), Integer.parseInt(kv[1]));
            }
        }
        Map<String, MemberSubscriptionAndAssignmentImpl> members = new LinkedHashMap<>();
        Map<Uuid, Map<Integer, String>> inverted = new HashMap<>();
        if (!f[5].equals("-")) {
            for (String m : f[5].split("\\|")) {
                String[] p = m.split("/", -1);
                String memberId = p[0];
                Optional<String> instance = p[1].equals("-") ? Optional.empty() : Optional.of(p[1]);
                Set<Uuid> subscribed = new LinkedHashSet<>();
                if (!p[2].equals("-")) for (String t : p[2].split("\\+")) subscribed.add(Uuid.fromString(t));
                Map<Uuid, Set<Integer>> current = new LinkedHashMap<>();
                if (!p[3].equals("-")) {
                    for (String tp : p[3].split("\\+")) {
                        String[] kv = tp.split("=");
                        Uuid topicId = Uuid.fromString(kv[0]);
                        Set<Integer> parts = new LinkedHashSet<>();
                        for (String x : kv[1].split("\\.")) {
                            int partition = Integer.parseInt(x);
                            parts.add(partition);
                            inverted.computeIfAbsent(topicId, k -> new HashMap<>()).put(partition, memberId);
                        }
                        current.put(topicId, parts);
                    }
                }
                members.put(memberId, new MemberSubscriptionAndAssignmentImpl(
                    Optional.empty(), instance, subscribed, new Assignment(Collections.unmodifiableMap(current))));
            }
        }
        SubscribedTopicDescriber describer = new SubscribedTopicDescriber() {
            @Override
            public int numPartitions(Uuid topicId) {
                return partitions.getOrDefault(topicId, -1);
            }

            @Override
            public Set<String> racksForPartition(Uuid topicId, int partition) {
                return Set.of();
            }
        };
        PartitionAssignor assignor;
        switch (assignorName) {
            case "uniform": assignor = new UniformAssignor(); break;
            case "range": assignor = new RangeAssignor(); break;
            case "simple": assignor = new SimpleAssignor(); break;
            default: return "ERROR unknown assignor " + assignorName;
        }
        GroupAssignment result;
        try {
            result = assignor.assign(new GroupSpecImpl(members, type, inverted), describer);
        } catch (Exception e) {
            return "ERROR " + e.getClass().getSimpleName();
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, MemberAssignment> e : new TreeMap<>(result.members()).entrySet()) {
            List<String> topics = new ArrayList<>();
            for (Map.Entry<Uuid, Set<Integer>> t : e.getValue().partitions().entrySet()) {
                if (t.getValue().isEmpty()) continue;
                List<String> ps = new ArrayList<>();
                for (int p : new TreeSet<>(t.getValue())) ps.add(Integer.toString(p));
                topics.add(t.getKey() + ":" + String.join(".", ps));
            }
            Collections.sort(topics);
            out.add(e.getKey() + "=" + (topics.isEmpty() ? "-" : String.join("+", topics)));
        }
        return out.isEmpty() ? "-" : String.join("|", out);
    }
}
