// A stand-in for hive-llap-common's interface, which pyspark's jars lack (see chatsales/app/spark/hive_stubs.py).
package org.apache.hadoop.hive.llap.security;

public interface LlapSigner {
  interface Signable {
    void setSignInfo(int masterKeyId);

    int getSignInfo();

    byte[] serialize() throws java.io.IOException;
  }
}
